// The baseline for bench/run.sh: a bare RESTinio endpoint answering a fixed 1 KB JSON body
// on the same number of I/O threads as onedoor, with no auth, database or audit.
#include <cstdlib>
#include <string>

#include <restinio/all.hpp>

int main(int argc, char** argv) {
  const unsigned short port = argc > 1 ? static_cast<unsigned short>(std::atoi(argv[1])) : 18090;
  const std::size_t threads = argc > 2 ? static_cast<std::size_t>(std::atoi(argv[2])) : 2;
  std::string body = R"({"id":1,"version":1,"names":[{"use":"official","given":"Amara","family":"Okonkwo"}],"pad":")";
  body += std::string(1024 - body.size() - 2, 'x');
  body += "\"}";
  restinio::run(restinio::on_thread_pool(threads).port(port).address("127.0.0.1").request_handler([&body](auto req) {
    return req->create_response().append_header("Content-Type", "application/json").set_body(body).done();
  }));
}
