// Validates every object of the given YAML files (rendered manifests) against the Kubernetes OpenAPI
// schemas, through the npm package kubernetes-models: `new Kind(object).validate()` throws on an object
// the API server's schema would refuse. The Prometheus Operator's kinds (ServiceMonitor, PrometheusRule)
// have no schema in it and are listed as unchecked; any other kind it does not know fails the run.
// Usage: NODE_PATH=<node_modules> node validate_models.mjs FILE...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.env.NODE_PATH ?? path.join(process.cwd(), "node_modules");
const require = createRequire(path.join(modules, "noop.js"));
const YAML = require("yaml");

const unchecked = new Set(["monitoring.coreos.com/v1 ServiceMonitor", "monitoring.coreos.com/v1 PrometheusRule"]);
let validated = 0;
let failures = 0;
const skipped = [];

for (const file of process.argv.slice(2)) {
  const documents = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  for (const document of documents) {
    if (document.errors.length > 0) {
      console.error(`${file}: YAML error: ${document.errors[0].message}`);
      failures++;
      continue;
    }
    const object = document.toJS();
    if (object === null || object === undefined) {
      continue;
    }
    const where = `${file}: ${object.kind} ${object.metadata?.namespace ?? ""}/${object.metadata?.name}`;
    const key = `${object.apiVersion} ${object.kind}`;
    if (unchecked.has(key)) {
      skipped.push(where);
      continue;
    }
    // The ES module kubernetes-models/<group>/<version>/<Kind>.mjs (the core group: v1/<Kind>.mjs).
    const module = path.join(modules, "kubernetes-models", object.apiVersion, `${object.kind}.mjs`);
    let Model;
    try {
      Model = (await import(pathToFileURL(module).href))[object.kind];
      if (typeof Model !== "function") {
        throw new Error("no such class");
      }
    } catch (error) {
      console.error(`${where}: kubernetes-models has no schema for ${key}`);
      failures++;
      continue;
    }
    try {
      new Model(object).validate();
      validated++;
    } catch (error) {
      console.error(`${where}: invalid: ${error.message}`);
      failures++;
    }
  }
}

for (const where of skipped) {
  console.log(`not validated (kubernetes-models has no schema for the Prometheus Operator's kinds): ${where}`);
}
console.log(`${validated} objects valid, ${failures} invalid, ${skipped.length} without a schema`);
process.exit(failures === 0 && validated > 0 ? 0 : 1);
