/**
 * @gradlens/io for browsers (the `browser` export condition): the core, decoding from bytes
 * (`decodeImage`, `decodeNpy`, `readSafetensors(bytes)`, `readPth(bytes)`…) with fflate's DEFLATE and
 * the portable PNG encoder. No Node module is imported; a function given a path says to pass bytes.
 */
export * from './core';
