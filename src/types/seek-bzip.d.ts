// seek-bzip ships no types; this is the one function we use. Input and output may be buffers or
// byte streams: an object with readByte() (and eof()), one with writeByte().
declare module "seek-bzip" {
  interface ByteInput {
    readByte(): number;
    read(buffer: Uint8Array, offset: number, length: number): number;
    eof?(): boolean;
  }
  interface ByteOutput {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    decode(input: Buffer, output?: Buffer): Buffer;
    decode(input: ByteInput, output: ByteOutput, multistream?: boolean): void;
  };
  export default Bunzip;
}
