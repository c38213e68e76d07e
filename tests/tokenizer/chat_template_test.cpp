#include "localmoe/tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

std::string render(const std::string& source,
                   const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) {
  TokenizerConfig config;
  config.bos_token = "<s>";
  config.eos_token = "</s>";
  return ChatTemplate(source, config).render(nlohmann::ordered_json::array(), false, extra);
}

std::string error_of(const std::string& source) {
  try {
    render(source);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Jinja, ExpressionsFollowPython) {
  EXPECT_EQ(
      render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ -7 % 3 }} {{ 1 + 2 * 3 }}"),
      "3 -4 3.5 1024 2 7");
  EXPECT_EQ(render("{{ none }} {{ true }} {{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }}"),
            "None True 1.0 0.30000000000000004 1e+20");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none }} {{ 'ab' * 3 }} {{ [1] + [2] }}"), "a1None ababab [1, 2]");
  EXPECT_EQ(render("{{ 'abc'[::-1] }} {{ [1, 2, 3][1:] }} {{ 'hello'[-1] }}"), "cba [2, 3] o");
  EXPECT_EQ(render("{{ 'x' if false else 'y' }}{{ 'z' if false }}|"), "y|");
  EXPECT_EQ(render("{{ 'b' in 'abc' }} {{ 2 not in [1, 2] }} {{ 'k' in {'k': 1} }}"),
            "True False True");
  EXPECT_EQ(render("{{ 0 or 'fallback' }} {{ 1 and 2 }} {{ not [] }}"), "fallback 2 True");
  EXPECT_EQ(render("{{ {'a': 1, 'b': 'x'} }}"), "{'a': 1, 'b': 'x'}");
}

TEST(Jinja, StringMethodsFiltersAndTests) {
  EXPECT_EQ(render("{{ '  hi  ' | trim | upper }}|{{ ' x '.strip() }}|{{ 'xxhixx'.strip('x') }}"),
            "HI|x|hi");
  EXPECT_EQ(render("{{ 'a,b'.split(',') }} {{ ' a  b '.split() }} {{ 'Hello'.startswith('He') }}"),
            "['a', 'b'] ['a', 'b'] True");
  EXPECT_EQ(render("{{ 'hello world' | title }} {{ 'ABC' | lower }} {{ 'abc' | capitalize }}"),
            "Hello World abc Abc");
  EXPECT_EQ(
      render("{{ [3, 1, 2] | sort | join('-') }} {{ [1, 2, 3] | length }} {{ 'héllo' | length }}"),
      "1-2-3 3 5");
  EXPECT_EQ(render("{{ {'a': [1, 2.5, none, true], 'b': \"q\\\"\"} | tojson }}"),
            R"({"a": [1, 2.5, null, true], "b": "q\""})");
  EXPECT_EQ(render("{{ {'b': 1, 'a': {'c': []}} | tojson(indent=2) }}"),
            "{\n  \"b\": 1,\n  \"a\": {\n    \"c\": []\n  }\n}");
  EXPECT_EQ(render("{{ undefined_name | default('d') }} {{ '' | default('e', true) }} {{ [1, 2] | "
                   "first }}{{ [1, 2] | last }}"),
            "d e 12");
  EXPECT_EQ(render("{{ x is defined }} {{ 3 is odd }} {{ none is none }} {{ 'a' is string }} {{ 4 "
                   "is divisibleby 2 }}"),
            "False True True True True");
  EXPECT_EQ(render("{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | "
                   "join(',') }}",
                   {{"msgs",
                     {{{"role", "user"}, {"content", "a"}},
                      {{"role", "bot"}, {"content", "b"}},
                      {{"role", "user"}, {"content", "c"}}}}}),
            "a,c");
  EXPECT_EQ(render("{% for k, v in d | items %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k "
                   "}}{% endfor %}",
                   {{"d", {{"z", 1}, {"a", 2}}}}),
            "z=1;a=2;za");
}

TEST(Jinja, LoopsScopesNamespacesAndMacros) {
  EXPECT_EQ(
      render(
          "{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.first }}{{ loop.last }},{% endfor %}"),
      "1TrueFalse,2FalseFalse,3FalseTrue,");
  EXPECT_EQ(
      render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}/{{ loop.length }} {% endfor %}"),
      "2/2 4/2 ");
  EXPECT_EQ(render("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == "
                   "4 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
            "13");
  EXPECT_EQ(render("{% set a = 1 %}{% for x in [1] %}{% set a = 2 %}{% endfor %}{{ a }}"), "1");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in [1, 2] %}{% set ns.n = ns.n + x %}{% "
                   "endfor %}{{ ns.n }}"),
            "3");
  EXPECT_EQ(
      render("{% macro f(a, b='x') %}[{{ a }}{{ b }}]{% endmacro %}{{ f(1) }}{{ f(2, b='y') }}"),
      "[1x][2y]");
  EXPECT_EQ(render("{% set block %}in{{ 1 }}{% endset %}{{ block }}"), "in1");
  EXPECT_EQ(render("{{ bos_token }}{{ eos_token }}"), "<s></s>");
}

TEST(Jinja, WhitespaceControlMatchesTransformersEnvironment) {
  // trim_blocks drops the newline after a block tag; lstrip_blocks drops the
  // indentation before one; "-" strips all whitespace on its side.
  EXPECT_EQ(render("  {% if true %}\nX\n  {% endif %}\nY"), "X\nY");
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif %}"), "ab");
  EXPECT_EQ(render("{{ 'a' }}\n{{- 'b' }} {# note #}\nc"), "ab c");
  EXPECT_EQ(render("x {%+ if true %}y{% endif %}"), "x y");
}

TEST(Jinja, ErrorsCarryTheirMessageAndLine) {
  const std::string raised =
      error_of("line one\n{{ raise_exception('Conversation roles must alternate') }}");
  EXPECT_NE(raised.find("Conversation roles must alternate"), std::string::npos) << raised;
  EXPECT_NE(raised.find("line 2"), std::string::npos) << raised;
  EXPECT_NE(raised.find("chat template"), std::string::npos) << raised;
  EXPECT_NE(error_of("{% if %}").find("line 1"), std::string::npos);
  EXPECT_NE(error_of("{% for x in y %}").find("endfor"), std::string::npos);
  EXPECT_NE(error_of("{{ 'a' + 1 }}").find("unsupported operand"), std::string::npos);
  EXPECT_NE(error_of("{{ x | nosuchfilter }}").find("nosuchfilter"), std::string::npos);
  EXPECT_NE(error_of("{{ x.y.z }}").find("undefined"), std::string::npos);
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("too deep"),
            std::string::npos);
}

TEST(ChatTemplate, FallbackJoinsTurnsWithEos) {
  TokenizerConfig config;
  config.eos_token = "<|endoftext|>";
  const ChatTemplate chat(ChatTemplate::kDefaultTemplate, config);
  const auto messages = nlohmann::ordered_json::parse(
      R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}])");
  EXPECT_EQ(chat.render(messages, true), "Hi<|endoftext|>Yo<|endoftext|>");
}

}  // namespace
}  // namespace localmoe
