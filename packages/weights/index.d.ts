/** The folder holding `gapnet.safetensors`, `gapnet.json`, `smallvgg.safetensors`, `smallvgg.json` and `samples/`. */
export declare const weightsDir: string;
/** The folder of the bundled sample pictures (`<weightsDir>/samples`, with `samples.json`). */
export declare const samplesDir: string;
