#!/usr/bin/env python3
"""Builds the tokenizer conformance corpus deterministically (fixed seed).

Output: one JSON object per line, {"category": ..., "b64": base64 of the raw
bytes}; raw bytes so the corpus can hold invalid UTF-8. At least 1,000
strings over: English prose, code, CJK, emoji and ZWJ sequences, combining
marks, runs of spaces / tabs / newlines, digits, special-token look-alikes,
invalid UTF-8, random code points and long documents.

Characters are drawn only from those assigned in this interpreter's Unicode
version, so both sides' tables agree. Excluded on purpose (documented in
docs/tokenizer.md): U+0085 and U+FEFF, where JavaScript's \\s differs from
the White_Space property that Hugging Face's Oniguruma uses, and U+017F,
which Oniguruma's case-insensitive (?i:'s) matches but transformers.js's
rewritten pattern does not.

usage: make_corpus.py OUTPUT.jsonl
"""
import base64
import json
import random
import sys
import unicodedata

SEED = 20240601
EXCLUDED = {0x85, 0xFEFF, 0x17F}

WORDS = (
    "the of and to in is that it was for on are as with his they at be this from have or by one had not but what all "
    "were when we there can an your which their said if do will each about how up out them then she many some so these "
    "would other into has more her two like him see time could no make than first been its who now people my made over "
    "did down only way find use may water long little very after words called just where most know model token server "
    "expert mixture routing quantization attention cache memory throughput latency Hugging Face transformer decoding "
    "naïve café résumé coöperate façade jalapeño Ångström São Paulo Zürich Kraków İstanbul Æsir Œuvre straße"
).split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D", "'M", "n't", "'"]
PUNCT = [".", ",", "!", "?", ";", ":", "...", "—", "–", "-", "(", ")", "\"", "“", "”", "‘", "’", "«", "»", "¿", "¡"]

CODE_SNIPPETS = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n",
    "#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; return v.size() == 3 ? 0 : 1; }\n",
    "const f = async (x) => { await sleep(10); return x ?? null; };\n",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC;\n",
    "{\"model\": \"mixtral\", \"top_k\": 2, \"experts\": [0, 1, 2, 3], \"temp\": 0.7}\n",
    "if x!=y&&z<=w||!q: pass  # weird spacing\n",
    "    \t  indented with mixed tabs\r\n\tand CRLF\r\n",
    "fn main() {\n    let s: &str = \"héllo\";\n    println!(\"{s:?}\");\n}\n",
    "<div class=\"a\">&nbsp;<span>x</span></div>\n",
    "x = [i**2 for i in range(10) if i % 3 == 0]\n",
    "$ ./configure --prefix=/usr && make -j2 && sudo make install\n",
    "// TODO(me): handle the case where `ptr == nullptr`\n",
    "matrix[3][4] += 1e-9; y = 0x1F; z = 0b1010; w = 1_000_000;\n",
]

CJK = [
    "我们今天讨论混合专家模型的推理效率。", "这是一个测试句子，包含标点符号！", "東京は日本の首都です。",
    "ひらがなとカタカナ、そして漢字。", "カタカナーー長音", "한국어 문장도 포함됩니다.", "안녕하세요, 세계!",
    "中文English混合text测试", "「引用」『二重引用』【括弧】", "全角数字１２３４５と半角12345", "繁體中文與简体中文",
    "ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ", "𠀀𠀁𪚥 rare ideographs", "龍の子は龍",
]

EMOJI = [
    "😀", "😂", "🤖", "🚀", "👍🏽", "👍🏿", "👨‍👩‍👧‍👦", "👩‍💻", "🧑🏻‍🚀", "🏳️‍🌈", "🏴‍☠️", "🇫🇷", "🇯🇵🇺🇸", "1️⃣", "#️⃣",
    "❤️", "✨", "🫠", "🤌", "☕", "⚡️", "👁️‍🗨️", "🧔‍♂️", "🐻‍❄️",
]

COMBINING = [
    "e\u0301", "a\u0308", "o\u0302\u0323", "a\u0323\u0307", "a\u0307\u0323", "n\u0303", "u\u0308\u0301",
    "\u1100\u1161\u11a8", "\u1112\u1161\u11ab\u1100\u1173\u11af", "A\u030a", "\u212b", "\u2126", "Z\u0335\u0321",
    "ệ", "Việt Nam", "שָׁלוֹם", "नमस्ते", "क़", "السَّلَامُ عَلَيْكُمْ", "ก่อน", "x\u0300\u0301\u0302\u0303\u0304",
    "\u0301leading mark", "q\u0307\u0323", "ḍ\u0307", "\uf900\uf901",
]

WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", " \n", "\n ", " \t \n", "\u00a0", "\u3000",
              "\u2003", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\x0b", "\x0c", "\u1680"]

SPECIAL_LOOKALIKES = [
    "<s>", "</s>", "<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_5|>", "<think>", "</think>",
    "<tool_call>", "<s >", "< s>", "<|im_start", "im_start|>", "<<s>>", "<0x41>", "<0xZZ>", "▁", "▁▁hello",
    "[INST]", "[/INST]", "<<SYS>>", "<|user|>", "<|assistant|>", "<|endoftext|><|endoftext|>", "</s></s>",
]


def assigned(ch):
    cp = ord(ch)
    return unicodedata.category(ch) not in ("Cn", "Cs", "Co") and cp not in EXCLUDED


def check(text):
    for ch in text:
        assert assigned(ch) or ch in "\t\n\r\x0b\x0c", (text, hex(ord(ch)))
    return text


def prose(rng):
    out = []
    for _ in range(rng.randint(3, 25)):
        w = rng.choice(WORDS)
        r = rng.random()
        if r < 0.1:
            w = w.capitalize()
        elif r < 0.13:
            w = w.upper()
        if rng.random() < 0.12:
            w += rng.choice(CONTRACTIONS)
        out.append(w)
        if rng.random() < 0.15:
            out.append(rng.choice(PUNCT))
    sep = rng.choice([" ", " ", " ", "  "])
    return sep.join(out) + rng.choice([".", "!", "?", "", "\n"])


def random_codepoints(rng, n, ranges):
    out = []
    while len(out) < n:
        lo, hi = rng.choice(ranges)
        ch = chr(rng.randint(lo, hi))
        if assigned(ch):
            out.append(ch)
    return "".join(out)


SCRIPT_RANGES = [(0x20, 0x7E), (0xA1, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF), (0x600, 0x6FF),
                 (0x900, 0x97F), (0xE00, 0xE7F), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20CF),
                 (0x2100, 0x214F), (0x2190, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F), (0x3000, 0x30FF),
                 (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F), (0x1D400, 0x1D7FF),
                 (0x300, 0x36F), (0x10000, 0x1007F), (0x20000, 0x2A6DF)]


def invalid_utf8(rng):
    base = prose(rng).encode()
    bad = rng.choice([b"\x80", b"\xbf", b"\xc0\x80", b"\xc3", b"\xe4\xb8", b"\xed\xa0\x80", b"\xf0\x9f\x98",
                      b"\xf5\x80\x80\x80", b"\xff", b"\xfe\xff", b"\xe0\x80\xaf", b"\xf4\x90\x80\x80", b"\xc3\x28",
                      b"\xe2\x82", b"\xf0\x28\x8c\xbc", b"\x80\x80\x80"])
    pos = rng.randint(0, len(base))
    # Keep the insertion point on a character boundary of the valid text.
    while pos < len(base) and (base[pos] & 0xC0) == 0x80:
        pos += 1
    return base[:pos] + bad + base[pos:]


def digits(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.randint(0, 7)
        if kind == 0:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 15))))
        elif kind == 1:
            parts.append(f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 6)}f}")
        elif kind == 2:
            parts.append("".join(chr(0x660 + rng.randint(0, 9)) for _ in range(rng.randint(1, 6))))
        elif kind == 3:
            parts.append("".join(chr(0xFF10 + rng.randint(0, 9)) for _ in range(rng.randint(1, 6))))
        elif kind == 4:
            parts.append(rng.choice(["²", "³", "½", "¾", "Ⅻ", "ⅷ", "①", "⑩", "٣", "४२", "๓๔"]))
        elif kind == 5:
            parts.append(f"{rng.randint(1, 12)}/{rng.randint(1, 31)}/{rng.randint(1900, 2100)}")
        elif kind == 6:
            parts.append(f"v{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}")
        else:
            parts.append(f"${rng.randint(1, 99999):,}")
    return rng.choice([" ", "", ", ", "\n"]).join(parts)


def main():
    rng = random.Random(SEED)
    corpus = []

    def add(category, value):
        data = value if isinstance(value, bytes) else check(value).encode("utf-8")
        corpus.append({"category": category, "b64": base64.b64encode(data).decode("ascii")})

    for _ in range(220):
        add("prose", prose(rng))
    for snippet in CODE_SNIPPETS:
        add("code", snippet)
    for _ in range(90):
        add("code", "".join(rng.sample(CODE_SNIPPETS, rng.randint(1, 3))))
    for s in CJK:
        add("cjk", s)
    for _ in range(80):
        add("cjk", rng.choice(CJK) + rng.choice(["", " ", "\n"]) + rng.choice(CJK) + rng.choice(["", prose(rng)]))
    for e in EMOJI:
        add("emoji", e)
    for _ in range(70):
        add("emoji", " ".join(rng.choice(EMOJI) + rng.choice(["", rng.choice(WORDS)]) for _ in range(rng.randint(1, 6))))
    for c in COMBINING:
        add("combining", c)
    for _ in range(70):
        add("combining", "".join(rng.choice(COMBINING) + rng.choice(["", " ", rng.choice(WORDS)]) for _ in range(rng.randint(1, 5))))
    for w in WHITESPACE:
        add("whitespace", w)
        add("whitespace", "a" + w + "b")
    for _ in range(110):
        parts = [rng.choice(WHITESPACE) * rng.randint(1, 4) if rng.random() < 0.6 else rng.choice(WORDS + ["", "x", "1", "!"])
                 for _ in range(rng.randint(2, 9))]
        add("whitespace", "".join(parts))
    for _ in range(80):
        add("digits", digits(rng))
    for s in SPECIAL_LOOKALIKES:
        add("special", s)
        add("special", "Hello " + s + " world")
        add("special", s + "text" + s)
    for _ in range(60):
        add("special", "".join(rng.choice(SPECIAL_LOOKALIKES + WORDS + [" ", "\n", ""]) for _ in range(rng.randint(2, 8))))
    for _ in range(60):
        add("invalid_utf8", invalid_utf8(rng))
    for _ in range(90):
        add("random", random_codepoints(rng, rng.randint(1, 40), SCRIPT_RANGES))
    for _ in range(12):
        doc = "\n\n".join(prose(rng) + " " + rng.choice(CJK + EMOJI + CODE_SNIPPETS) for _ in range(rng.randint(20, 60)))
        add("long", doc)
    add("edge", "")
    add("edge", " ")
    add("edge", "a")
    add("edge", "'")
    add("edge", "''''")
    add("edge", "'s's's")
    add("edge", "I'm here; you're there; they've gone; we'll see; he'd know; it's done.")

    with open(sys.argv[1], "w", encoding="ascii") as f:
        for entry in corpus:
            f.write(json.dumps(entry) + "\n")
    print(f"{len(corpus)} strings written to {sys.argv[1]}")


if __name__ == "__main__":
    main()
