import type { Tensor } from '@gradlens/tensor';
import { relu, relu6 } from '@gradlens/tensor';
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
