/** The worker's bundled source, which build.js puts in the page bundle (a Blob worker also starts from file://). */
declare module 'gradlens:worker-source' {
  const source: string;
  export default source;
}
