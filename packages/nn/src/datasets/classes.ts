/** Class names of the datasets gradlens trains on (no file access: shared by the Node and browser entries). */

/** Fashion-MNIST's ten classes, by label index. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
