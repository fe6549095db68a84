// environment.yml: conda's fields (name, channels, dependencies with a pip: sub-list, variables)
// plus our `image:` section, every value kept with its position in the file.
import { isMap, isScalar, type Node } from "yaml";
import { show } from "./errors";
import { type ImageSpec, readImageSection } from "./image-section";
import { type Located, type SourceFile, sourceFile } from "./source";
import { YamlReader } from "./yaml-reader";

export interface EnvironmentSpec {
  file: SourceFile;
  name?: Located<string>;
  channels: Located<string>[];
  /** Conda match specs as written (`python=3.12`, `conda-forge::numpy>=1.26`). */
  dependencies: Located<string>[];
  /** The `- pip:` sub-list of dependencies. */
  pip: Located<string>[];
  variables: { key: Located<string>; value: Located<string> }[];
  image: ImageSpec;
}

const topLevelKeys = ["name", "channels", "dependencies", "variables", "prefix", "image"] as const;

export function parseEnvironment(fileName: string, text: string): EnvironmentSpec {
  const file = sourceFile(fileName, text);
  const r = new YamlReader(file);
  const spec: EnvironmentSpec = { file, channels: [], dependencies: [], pip: [], variables: [], image: readImageSection(r, null) };
  const root = r.root();
  if (!root) {
    if (!r.problems.length) r.problems.push({ message: "the file is empty: expected name:, channels: and dependencies:" });
    r.throwIfProblems();
    return spec;
  }
  let imageNode: Node | null = null;
  for (const { key, keyNode, value } of r.entries(root, "environment")) {
    switch (key) {
      case "name":
        spec.name = r.string(value, "name");
        break;
      case "channels":
        spec.channels = r.stringList(value, "channels");
        break;
      case "dependencies":
        readDependencies(r, value, spec);
        break;
      case "variables":
        spec.variables = r.stringMap(value, "variables");
        break;
      case "prefix":
        // `conda env export` writes the exporting machine's prefix; it means nothing in an
        // image (image.prefix decides), so it is accepted and ignored.
        break;
      case "image":
        imageNode = value;
        break;
      default:
        r.unknownKey(keyNode, "environment", key, topLevelKeys);
    }
  }
  spec.image = readImageSection(r, imageNode);
  r.throwIfProblems();
  return spec;
}

function readDependencies(r: YamlReader, node: Node | null, spec: EnvironmentSpec): void {
  const items = r.sequence(node, "dependencies") ?? [];
  let pipSeen = false;
  items.forEach((item, i) => {
    if (isMap(item)) {
      for (const { key, keyNode, value } of r.entries(item, `dependencies[${i}]`)) {
        if (key !== "pip") {
          r.fail(keyNode, `dependencies[${i}]: only a "pip:" list may appear among the dependencies, got ${show(key)}`);
          continue;
        }
        if (pipSeen) r.fail(keyNode, `dependencies: "pip:" appears twice; merge the two lists`);
        pipSeen = true;
        spec.pip.push(...r.stringList(value, "dependencies.pip"));
      }
      return;
    }
    const dep = isScalar(item) && typeof item.value === "number" ? undefined : r.string(item, `dependencies[${i}]`);
    if (!dep) {
      if (isScalar(item) && typeof item.value === "number") r.fail(item, `dependencies[${i}]: expected a package spec such as "python=3.12", got ${show(item.value)}`);
      return;
    }
    if (dep.value.trim() === "") r.fail(item, `dependencies[${i}]: empty package spec`);
    else spec.dependencies.push({ value: dep.value.trim(), range: dep.range });
  });
}
