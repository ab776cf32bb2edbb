// From a picture to a saved Grad-CAM map with the bundled gapnet model (the README's first example).
// Run from the repository root: npx tsc examples/explain-a-picture.ts --outDir /tmp/ex && node /tmp/ex/explain-a-picture.js
import { readImage } from '@gradlens/io';
import { imageToInput, loadBundledModel } from '@gradlens/nn';
import { gradCam, saveMap } from '@gradlens/explain';

const image = readImage('weights/samples/00-ankle-boot.png');
const { model, input } = loadBundledModel('gapnet'); // trained weights, eval mode
const cam = gradCam(model, imageToInput(image, input)); // layer: the last conv block
saveMap('gradcam.png', cam, { image, legend: true }); // jet over the picture, colour bar
