// seek-bzip ships no types; this is the one function we use.
declare module "seek-bzip" {
  const Bunzip: { decode(input: Buffer, output?: Buffer): Buffer };
  export default Bunzip;
}
