// Encode throughput of transformers.js (@lenml/tokenizers) on the
// conformance corpus, for bench/tokenizer_bench's comparison.
// usage: node bench.mjs CORPUS.jsonl REFERENCE_DIR  -> prints {"name": MB/s, ...}
import fs from "node:fs";
import path from "node:path";
import { TokenizerLoader } from "@lenml/tokenizers";

const [corpusPath, refDir] = process.argv.slice(2);
const decoder = new TextDecoder("utf-8", { fatal: false });
const texts = fs
  .readFileSync(corpusPath, "utf8")
  .split("\n")
  .filter((line) => line.length > 0)
  .map((line) => decoder.decode(Buffer.from(JSON.parse(line).b64, "base64")));
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);
const result = {};
for (const name of ["llama2", "lenml-llama2", "mistral", "llama3", "qwen3", "gpt2"]) {
  const dir = path.join(refDir, name);
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  });
  for (const t of texts) tokenizer.encode(t);  // warm-up: JIT and the BPE cache
  const passes = 3;
  const started = process.hrtime.bigint();
  for (let p = 0; p < passes; ++p) for (const t of texts) tokenizer.encode(t);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  result[name] = (bytes * passes) / seconds / 1e6;
}
console.log(JSON.stringify(result));
