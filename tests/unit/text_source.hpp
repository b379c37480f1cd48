#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <wfctl/util/io.hpp>

namespace wfctl::test {

/// A ByteSource over `text` (a stream, not a file: no descriptor), named "input".
inline ByteSource text_source(std::string text) {
  auto pos = std::make_shared<std::size_t>(0);
  ByteSource src([text = std::move(text), pos](char* buf, std::size_t cap) {
    std::size_t n = std::min(cap, text.size() - *pos);
    std::copy_n(text.data() + *pos, n, buf);
    *pos += n;
    return n;
  });
  src.name = "input";
  return src;
}

}  // namespace wfctl::test
