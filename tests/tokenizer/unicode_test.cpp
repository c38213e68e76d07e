#include "localmoe/tokenizer/unicode.h"

#include <gtest/gtest.h>

namespace localmoe {
namespace {

TEST(Utf8, SanitizeReplacesEachMaximalInvalidSubpart) {
  // Unicode's own example (Table 3-8): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64
  EXPECT_EQ(utf8_sanitize("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD"
            "d");
  EXPECT_EQ(utf8_sanitize("\xC0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: two subparts
  EXPECT_EQ(utf8_sanitize("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(utf8_sanitize("\xF0\x9F\x98"), "\xEF\xBF\xBD");  // truncated emoji
  EXPECT_EQ(utf8_sanitize("ok \xE4\xB8\xAD"), "ok \xE4\xB8\xAD");
  EXPECT_TRUE(utf8_is_valid("\xEF\xBF\xBD"));
  EXPECT_FALSE(utf8_is_valid("\xFF"));
}

TEST(UnicodeClasses, LettersNumbersWhitespace) {
  EXPECT_TRUE(is_letter(U'a'));
  EXPECT_TRUE(is_letter(U'中'));
  EXPECT_TRUE(is_letter(U'ß'));
  EXPECT_FALSE(is_letter(U'1'));
  EXPECT_TRUE(is_number(U'٣'));
  EXPECT_TRUE(is_number(U'½'));
  EXPECT_TRUE(is_number(U'Ⅻ'));
  EXPECT_FALSE(is_letter(0x301));  // combining acute is a mark
  EXPECT_EQ(char_class(0x301), CharClass::kMark);
  EXPECT_TRUE(is_letter(0x20000));  // CJK extension B, outside the BMP table
  EXPECT_TRUE(is_whitespace(0x85));
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_FALSE(is_whitespace(0xFEFF));
  EXPECT_FALSE(is_whitespace(0x200B));
}

TEST(Normalization, NfcComposesAndReorders) {
  EXPECT_EQ(nfc("e\xCC\x81"), "\xC3\xA9");     // e + acute -> é
  EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");  // Angstrom sign -> Å
  EXPECT_EQ(nfc("a\xCC\x87\xCC\xA3"),
            "\xE1\xBA\xA1\xCC\x87");  // a + dot above + dot below -> ạ + dot above
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> 각
  EXPECT_EQ(nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(nfd("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(nfd("\xEA\xB0\x81"), "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8");
}

}  // namespace
}  // namespace localmoe
