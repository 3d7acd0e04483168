// Prints the one object of a YAML file as a Lua table constructor (`return { ... }`), the shape Argo CD hands
// a health script in `obj` (maps as tables with string keys, lists as sequences, numbers and booleans as such).
// Usage: NODE_PATH=<node_modules> node yaml_to_lua.mjs FILE
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const modules = process.env.NODE_PATH ?? path.join(process.cwd(), "node_modules");
const YAML = createRequire(path.join(modules, "noop.js"))("yaml");

function lua(value) {
  if (value === null || value === undefined) {
    return "nil";
  }
  if (Array.isArray(value)) {
    return `{${value.map(lua).join(", ")}}`;
  }
  switch (typeof value) {
    case "object":
      return `{${Object.entries(value)
        .map(([key, item]) => `[${JSON.stringify(key)}] = ${lua(item)}`)
        .join(", ")}}`;
    case "string":
      return JSON.stringify(value);  // JSON's escapes are valid in Lua 5.4 strings, \u{...} aside
    case "number":
    case "boolean":
      return String(value);
    default:
      throw new Error(`cannot write a ${typeof value} as Lua`);
  }
}

const object = YAML.parse(readFileSync(process.argv[2], "utf8"));
process.stdout.write(`return ${lua(object)}\n`);
