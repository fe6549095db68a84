// The typed, immutable LLB builder: build States, then marshal() one into a Definition.
export { State, FileActions, merge, stack, stackMethodFor, copyTogether, ExecResult } from "./state";
export type { StateMount, RunOptions, StackMethod } from "./state";
export { marshal, CapabilityError } from "./marshal";
export { opDigest } from "./digest";
export type { MarshalOptions } from "./marshal";
export { validateDefinition, InvalidDefinitionError } from "./validate";
export { parsePlatform, formatPlatform, normalizePlatform, hostPlatform } from "./platform";
export type { VertexOptions } from "./vertex";
export type * from "./pb";
