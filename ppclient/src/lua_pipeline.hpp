// The Lua side of a pipeline's figures (lua/pp/pipeline.lua): a pipeline registers its
// stages with the cluster's live figures, and pl:stats() reads them back from there, so
// the report, the dashboard and pl:stats() show one count.
#pragma once

#include <lua.hpp>

namespace pp::client {

class JobServer;

// c:add_pipeline({ stage name, ... }) -> the pipeline's id, which its jobs carry
// (submit options `pipeline` and `stage`).
int lua_add_pipeline(lua_State* L, JobServer& server, int names);
// c:pipeline_stats(id) -> { name, wall_seconds, items, dropped, failed, stages = {
//   { name, items_in, items_out, dropped, failed, runs, job_seconds, items_per_second,
//     seconds_per_item, workers }, ... } } (report.hpp's Pipeline, with each stage's
// derived figures).
int lua_pipeline_stats(lua_State* L, JobServer& server, lua_Integer id);

}  // namespace pp::client
