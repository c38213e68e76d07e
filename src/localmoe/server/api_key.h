#pragma once
// The server's bearer-token check (server.api_key, or LOCALMOE_API_KEY):
// the Authorization header must read "Bearer <key>". The comparison takes
// the same time wherever the first differing byte is, so response times do
// not reveal a prefix of the key.

#include <string_view>

namespace localmoe {

bool authorization_matches(std::string_view authorization, std::string_view api_key);

}  // namespace localmoe
