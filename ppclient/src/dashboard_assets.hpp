// The dashboard's page (ppclient/dashboard/*.html, *.js, *.css), compiled into the
// binary by cmake/EmbedFiles.cmake: the generated dashboard_assets.cpp defines
// kDashboardAssets. Read-only data; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace pp::client {

struct DashboardAsset {
  std::string_view name;   // the file's name, "index.html"
  std::string_view body;
};

extern const DashboardAsset kDashboardAssets[];
extern const size_t kDashboardAssetsCount;

}  // namespace pp::client
