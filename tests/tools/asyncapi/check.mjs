// Parses an AsyncAPI document with the AsyncAPI Initiative's own parser and
// prints what it found as JSON: {"valid", "version", "messages", "errors"}.
// Exit status 1 if the document does not parse or has an error diagnostic.
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import fs from 'node:fs';

const parser = new Parser();
const { document, diagnostics } = await parser.parse(fs.readFileSync(process.argv[2], 'utf8'));
const errors = diagnostics
  .filter((d) => d.severity === DiagnosticSeverity.Error)
  .map((d) => `${d.code}: ${d.message} at ${JSON.stringify(d.path)}`);
const report = {
  valid: Boolean(document) && errors.length === 0,
  version: document ? document.version() : null,
  messages: document ? document.allMessages().all().map((m) => m.name()) : [],
  errors,
};
console.log(JSON.stringify(report));
process.exit(report.valid ? 0 : 1);
