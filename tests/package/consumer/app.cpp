// A program as a user of the installed package writes it: the public header, a cluster of
// local workers, a job that takes another job's value (the job reference crosses from this
// program into libppclient.so), a failed job's RemoteError caught here, and the API of
// data and stages: a scattered value, a run on every worker, a two-stage pipeline.
#include <pp/cluster.hpp>

#include <cstdio>
#include <map>
#include <vector>

int main() {
  pp::ClusterOptions opt;
  opt.local_workers = 2;
  pp::Cluster cluster(opt);
  pp::Code square = pp::Code::lua("function(x) return x * x end");
  pp::Code add = pp::Code::lua("function(a, b) return a + b end");
  pp::Job a = cluster.submit(square, 7);
  pp::Job b = cluster.submit(add, a, 1);
  int value = b.get<int>();
  std::vector<double> squares = cluster.map<double>(square, std::vector<double>{1, 2, 3});
  bool caught = false;
  try {
    cluster.submit(pp::Code::lua("function() error('on purpose') end")).get<int>();
  } catch (const pp::RemoteError& e) {
    caught = e.kind() == "lua error" && e.message().find("on purpose") != std::string::npos;
  }
  pp::Shared table = cluster.scatter(std::vector<int>{10, 20, 30});
  int second = cluster.submit(pp::Code::lua("function(t, i) return t[i] end"), table, 2).get<int>();
  std::map<std::string, int> ran = cluster.run<int>(pp::Code::lua("function() return 1 end"));
  double piped = 0;
  pp::Pipeline pl = cluster.pipeline({square, pp::Code::lua("function(x) return x + 1 end")});
  for (const pp::PipelineOutput& out : pl.map(std::vector<double>{1, 2, 3})) {
    piped += out.get<double>();
  }
  bool ok = value == 50 && squares == std::vector<double>{1, 4, 9} && caught && second == 20 &&
            ran.size() == 2 && piped == 17;
  std::printf("consumer: 7*7+1 = %d, squares %g %g %g, remote error caught: %s, scattered %d, "
              "run on %zu workers, pipeline sum %g: %s\n",
              value, squares[0], squares[1], squares[2], caught ? "yes" : "no", second,
              ran.size(), piped, ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
