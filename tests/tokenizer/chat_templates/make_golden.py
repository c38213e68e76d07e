#!/usr/bin/env python3
"""Renders every chat template of this folder with Python's jinja2 the way
transformers' apply_chat_template does (ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks and loop controls; raise_exception; tojson as
json.dumps with ensure_ascii=False) over a fixed set of conversations, and
writes the expected prompts (or the raised error message) as JSON.

usage: make_golden.py TEMPLATE_DIR OUTPUT.json
"""
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Special tokens per template family (what the model's tokenizer_config.json holds).
TOKENS = {
    "llama2_chat": ("<s>", "</s>"),
    "codellama_instruct": ("<s>", "</s>"),
    "mistral_instruct": ("<s>", "</s>"),
    "mistral_v03_tools": ("<s>", "</s>"),
    "case_filters": ("<s>", "</s>"),
    "llama3_instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "zephyr": ("<s>", "</s>"),
    "chatml_qwen2": (None, "<|im_end|>"),
    "qwen3": (None, "<|im_end|>"),
}

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city; unit is \"C\" or \"F\".",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
                       "required": ["city"]},
    },
}]

CONVERSATIONS = {
    "single_user": ([{"role": "user", "content": "Hello!"}], None),
    "system_first": ([
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "  Ahoy!  "},
        {"role": "user", "content": "Tell me a joke\n"},
    ], None),
    "multi_turn": ([
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "Say it in Chinese and add an emoji."},
        {"role": "assistant", "content": "四 😀"},
        {"role": "user", "content": "  Thanks\t"},
    ], None),
    "not_alternating": ([
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ], None),
    "empty": ([], None),
    "unicode_case": ([
        {"role": "user", "content": "straße ΟΔΟΣ İstanbul ǆemal ﬁne hello-world's (x) [y]z <a>b élan"},
        {"role": "assistant", "content": "ΣΊΣΥΦΟΣ Σ aΣ ǅ Ǆ ǆ 中a 1st"},
        {"role": "user", "content": "lower only", "name": "x"},
        {"role": "assistant", "content": "UPPER 123"},
    ], None),
    "thinking": ([
        {"role": "user", "content": "Is 7 prime?"},
        {"role": "assistant", "content": "<think>\nIt has no divisors.\n</think>\n\nYes."},
        {"role": "user", "content": "And 9?"},
    ], None),
    "tools": ([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
        {"role": "tool", "content": "{\"temp\": 21.5, \"sky\": \"clear\"}"},
        {"role": "user", "content": "Thanks"},
    ], {"tools": TOOLS}),
    "tools_with_ids": ([
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "tool_calls": [
            {"id": "abc123def", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
            {"id": "xyz987uvw", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome", "days": 1}}}]},
        {"role": "tool", "tool_call_id": "abc123def", "content": "sunny, 21.5"},
        {"role": "tool", "tool_call_id": "xyz987uvw", "content": {"content": "rain"}},
        {"role": "assistant", "content": " Paris is sunny; Rome has rain. "},
        {"role": "user", "content": "Thanks"},
    ], {"tools": TOOLS}),
}


class RaisedByTemplate(TemplateError):
    """An error the template raised on purpose with raise_exception()."""


def environment():
    def raise_exception(message):
        raise RaisedByTemplate(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def main():
    template_dir, out_path = sys.argv[1], sys.argv[2]
    env = environment()
    cases = []
    for name in sorted(TOKENS):
        with open(os.path.join(template_dir, name + ".jinja"), encoding="utf-8") as f:
            source = f.read()
        template = env.from_string(source)
        bos, eos = TOKENS[name]
        for conv_name, (messages, extra) in CONVERSATIONS.items():
            for add_generation_prompt in (False, True):
                case = {"template": name, "conversation": conv_name, "bos_token": bos, "eos_token": eos,
                        "messages": messages, "extra": extra, "add_generation_prompt": add_generation_prompt}
                try:
                    case["output"] = template.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                                     bos_token=bos, eos_token=eos, **(extra or {}))
                except RaisedByTemplate as e:
                    case["error"] = str(e)  # our message must contain this text
                except TemplateError as e:
                    case["error"] = ""  # any error will do: the messages of the two engines differ
                    case["python_error"] = f"{type(e).__name__}: {e}"
                cases.append(case)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
    print(f"{len(cases)} chat template cases written to {out_path}")


if __name__ == "__main__":
    main()
