// Validates an AsyncAPI document with the official parser (@asyncapi/parser, pinned in
// package.json): prints every diagnostic as one JSON line and exits 1 if any is an error
// or the parser returns no document. Usage: node asyncapi-validate.mjs <file>
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const file = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"), { source: file });
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === 0) errors += 1;
  console.log(JSON.stringify({ severity: d.severity, code: d.code, path: d.path, message: d.message }));
}
console.log(JSON.stringify({ document: document !== undefined, errors }));
process.exit(errors === 0 && document !== undefined ? 0 : 1);
