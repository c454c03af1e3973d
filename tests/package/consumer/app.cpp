// A program as a user of the installed package writes it: the public header, a cluster of
// local workers, a job that takes another job's value (the job reference crosses from this
// program into libppclient.so), and a failed job's RemoteError caught here.
#include <pp/cluster.hpp>

#include <cstdio>

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
  bool ok = value == 50 && squares == std::vector<double>{1, 4, 9} && caught;
  std::printf("consumer: 7*7+1 = %d, squares %g %g %g, remote error caught: %s: %s\n", value,
              squares[0], squares[1], squares[2], caught ? "yes" : "no", ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
