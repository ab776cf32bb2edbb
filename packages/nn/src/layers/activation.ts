import type { Tensor } from '@gradlens/tensor';
import { add, clamp, div, mul, relu, relu6, sigmoid, tanh } from '@gradlens/tensor';
import { Module } from '../module';

/** max(x, 0) as torch.nn.ReLU; the op whose backward rule guided backprop and deconvnet swap. */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** min(max(x, 0), 6) as torch.nn.ReLU6 (MobileNetV2). */
export class ReLU6 extends Module {
  override forward(x: Tensor): Tensor {
    return relu6(x);
  }
}

/**
 * x·relu6(x + 3)/6 as torch.nn.functional.hardswish, written with a clamp to [−3, 3] (not a ReLU6) so
 * guided backprop and deconvnet, which swap the rule of ReLU-like ops, leave it alone as PyTorch's
 * module hooks do. Gradient: 0 below −3, x/3 + 1/2 inside, 1 above 3 (PyTorch's).
 */
export function hardswish(x: Tensor): Tensor {
  return mul(x, hardsigmoid(x));
}

/** relu6(x + 3)/6 as torch.nn.functional.hardsigmoid (a clamp to [−3, 3], see hardswish). */
export function hardsigmoid(x: Tensor): Tensor {
  return div(add(clamp(x, { min: -3, max: 3 }), 3), 6);
}

/** x·σ(x) as torch.nn.functional.silu (Swish). */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

/** torch.nn.Hardswish (MobileNetV3). */
export class Hardswish extends Module {
  override forward(x: Tensor): Tensor {
    return hardswish(x);
  }
}

/** torch.nn.Hardsigmoid (MobileNetV3's squeeze-and-excitation gate). */
export class Hardsigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return hardsigmoid(x);
  }
}

/** torch.nn.SiLU (EfficientNet). */
export class SiLU extends Module {
  override forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** torch.nn.Sigmoid. */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** torch.nn.Tanh (MaxViT's classifier). */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return tanh(x);
  }
}
