#include "exchange/outbox.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/crypto.h"
#include "exchange/outbox_worker.h"
#include "exchange/webhook_sink.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/migrations.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace exchange {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

// Events appended by `count` writes.
void AppendEvents(storage::Database& db, Outbox& outbox, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(db.Write([&](storage::Transaction& tx) {
                    return outbox.Append(tx, "person.updated", "person", std::to_string(i + 1),
                                         R"({"fields":["phones"]})");
                  }).ok());
  }
}

std::vector<int64_t> Ids(const std::vector<Event>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

std::vector<Event> ClaimAs(storage::Database& db, Outbox& outbox, const std::string& owner, int limit,
                           std::chrono::microseconds lease = 30s) {
  std::vector<Event> claimed;
  Status s = db.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(claimed, outbox.Claim(tx, owner, limit, lease));
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return claimed;
}

// A sink that records what it is given and fails the ids it is told to.
class RecordingSink final : public EventSink {
 public:
  Status Deliver(const Event& event) override {
    std::lock_guard lock(mu);
    if (failing.count(event.id)) return Status::Unavailable("the webhook answered HTTP 503");
    delivered.push_back(event.id);
    return Status::Ok();
  }
  std::mutex mu;
  std::vector<int64_t> delivered;
  std::set<int64_t> failing;
};

class OutboxOnSqlite : public ::testing::Test {
 protected:
  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_ = testing_support::NewMigratedSqlite(dir_);
  core::FakeClock clock_;
  Outbox outbox_{clock_};
};

TEST_F(OutboxOnSqlite, ClaimTakesOldestFirstAndNotTwiceWhileLeased) {
  AppendEvents(*db_, outbox_, 5);
  EXPECT_EQ(Ids(ClaimAs(*db_, outbox_, "a", 3)), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Ids(ClaimAs(*db_, outbox_, "b", 10)), (std::vector<int64_t>{4, 5}));
  EXPECT_TRUE(ClaimAs(*db_, outbox_, "c", 10).empty());
}

TEST_F(OutboxOnSqlite, ExpiredLeaseIsTakenOver) {
  AppendEvents(*db_, outbox_, 2);
  ASSERT_EQ(ClaimAs(*db_, outbox_, "dead", 10, 30s).size(), 2u);
  clock_.Advance(29s);
  EXPECT_TRUE(ClaimAs(*db_, outbox_, "alive", 10).empty());
  clock_.Advance(1s);
  EXPECT_EQ(Ids(ClaimAs(*db_, outbox_, "alive", 10)), (std::vector<int64_t>{1, 2}));
}

TEST_F(OutboxOnSqlite, DeliveredEventsAreNeverClaimedAgain) {
  AppendEvents(*db_, outbox_, 2);
  ClaimAs(*db_, outbox_, "a", 10, 1s);
  ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) { return outbox_.MarkDelivered(tx, 1); }).ok());
  clock_.Advance(1h);
  EXPECT_EQ(Ids(ClaimAs(*db_, outbox_, "b", 10)), (std::vector<int64_t>{2}));
  int64_t pending = -1;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                  ASSIGN_OR_RETURN(pending, outbox_.CountPending(tx));
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(pending, 1);
}

TEST_F(OutboxOnSqlite, MarkDeliveredOfUnknownEventIsNotFound) {
  Status s = db_->Write([&](storage::Transaction& tx) { return outbox_.MarkDelivered(tx, 99); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

TEST_F(OutboxOnSqlite, WorkerDeliversInOrderAndRetriesFailuresWithBackoff) {
  AppendEvents(*db_, outbox_, 4);
  RecordingSink sink;
  sink.failing = {2};
  OutboxWorker worker(*db_, outbox_, sink, clock_, {.owner = "w", .batch = 10});
  auto round = worker.RunOnce();
  ASSERT_TRUE(round.ok()) << round.status().ToString();
  EXPECT_EQ(*round, 3);
  EXPECT_EQ(sink.delivered, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(worker.failed(), 1);

  // The failed event waits 1 s (its first retry), then 2 s after a second failure.
  EXPECT_EQ(*worker.RunOnce(), 0);
  EXPECT_EQ(worker.failed(), 1);
  clock_.Advance(1s);
  EXPECT_EQ(*worker.RunOnce(), 0);
  EXPECT_EQ(worker.failed(), 2);
  clock_.Advance(1s);
  EXPECT_EQ(*worker.RunOnce(), 0);
  EXPECT_EQ(worker.failed(), 2);
  sink.failing.clear();
  clock_.Advance(1s);
  EXPECT_EQ(*worker.RunOnce(), 1);
  EXPECT_EQ(sink.delivered, (std::vector<int64_t>{1, 3, 4, 2}));

  storage::Rows rows;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                  ASSIGN_OR_RETURN(rows, tx.Query("SELECT attempts FROM outbox WHERE id = 2"));
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(rows.at(0).Int(0), 2);
}

TEST_F(OutboxOnSqlite, ARecordsLaterEventsWaitBehindItsFailedOneAndOthersGoOn) {
  // Household 7 is created, then gets a member; person 1 changes between them.
  for (auto [type, aggregate, id] : {std::tuple{"household.created", "household", "7"},
                                     std::tuple{"person.updated", "person", "1"},
                                     std::tuple{"household.member_added", "household", "7"}}) {
    ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) {
                     return outbox_.Append(tx, type, aggregate, id, "{}");
                   })
                    .ok());
  }
  RecordingSink sink;
  sink.failing = {1};
  OutboxWorker worker(*db_, outbox_, sink, clock_, {.owner = "w", .batch = 10});
  EXPECT_EQ(*worker.RunOnce(), 1);
  EXPECT_EQ(sink.delivered, (std::vector<int64_t>{2}));  // not the member before the household
  // While the household's first event waits for its retry, its second is not claimed.
  EXPECT_TRUE(ClaimAs(*db_, outbox_, "other", 10).empty());
  EXPECT_EQ(*worker.RunOnce(), 0);
  sink.failing.clear();
  clock_.Advance(1s);
  EXPECT_EQ(*worker.RunOnce(), 2);
  EXPECT_EQ(sink.delivered, (std::vector<int64_t>{2, 1, 3}));
}

TEST_F(OutboxOnSqlite, StartedWorkerDeliversWhatArrivesLater) {
  core::SystemClock clock;
  Outbox outbox(clock);
  RecordingSink sink;
  OutboxWorker worker(*db_, outbox, sink, clock, {.owner = "w", .poll_interval = 10ms});
  worker.Start();
  AppendEvents(*db_, outbox, 3);
  for (int i = 0; i < 500 && worker.delivered() < 3; ++i) std::this_thread::sleep_for(10ms);
  worker.Stop();
  EXPECT_EQ(sink.delivered, (std::vector<int64_t>{1, 2, 3}));
}

// Two workers on one PostgreSQL database, claiming at the same time from their own sessions:
// every event is delivered exactly once.
TEST(OutboxOnPostgres, ConcurrentWorkersNeverDeliverTheSameEvent) {
  const std::string url = testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl();
  auto db = storage::OpenPostgres(url, {.connections = 4});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(storage::Migrate(**db, storage::OnedoorSchema()).ok());
  core::SystemClock clock;
  Outbox outbox(clock);
  constexpr int kEvents = 300;
  AppendEvents(**db, outbox, kEvents);

  RecordingSink sink_a, sink_b;
  OutboxWorker a(**db, outbox, sink_a, clock, {.owner = "a", .batch = 7});
  OutboxWorker b(**db, outbox, sink_b, clock, {.owner = "b", .batch = 7});
  std::atomic<bool> failed{false};
  auto drain = [&](OutboxWorker& w) {
    for (;;) {
      auto n = w.RunOnce();
      if (!n.ok()) {
        failed = true;
        return;
      }
      if (*n == 0) return;
    }
  };
  std::thread ta([&] { drain(a); });
  std::thread tb([&] { drain(b); });
  ta.join();
  tb.join();
  ASSERT_FALSE(failed);

  std::map<int64_t, int> times;
  for (int64_t id : sink_a.delivered) ++times[id];
  for (int64_t id : sink_b.delivered) ++times[id];
  EXPECT_EQ(times.size(), static_cast<size_t>(kEvents));
  for (const auto& [id, n] : times) EXPECT_EQ(n, 1) << "event " << id;
  // Both took part: the claims did not serialise on one worker.
  EXPECT_GT(sink_a.delivered.size(), 0u);
  EXPECT_GT(sink_b.delivered.size(), 0u);
}

TEST(OutboxOnPostgres, DeadOwnersEventsAreTakenOverAfterTheLease) {
  const std::string url = testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl();
  auto db = storage::OpenPostgres(url, {.connections = 2});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(storage::Migrate(**db, storage::OnedoorSchema()).ok());
  core::FakeClock clock;
  Outbox outbox(clock);
  AppendEvents(**db, outbox, 3);
  EXPECT_EQ(ClaimAs(**db, outbox, "dead", 2, 5s).size(), 2u);
  EXPECT_EQ(Ids(ClaimAs(**db, outbox, "alive", 10, 60s)), (std::vector<int64_t>{3}));
  clock.Advance(4s);
  EXPECT_TRUE(ClaimAs(**db, outbox, "alive", 10, 5s).empty());
  clock.Advance(1s);
  EXPECT_EQ(Ids(ClaimAs(**db, outbox, "alive", 10, 5s)), (std::vector<int64_t>{1, 2}));
}

// The published example of the Standard Webhooks specification.
TEST(Webhook, SignatureMatchesTheStandardWebhooksExample) {
  auto key = DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(SignWebhook(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(Webhook, MalformedSecretsAreRefused) {
  EXPECT_THAT(DecodeWebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").status().message(), HasSubstr("whsec_"));
  EXPECT_THAT(DecodeWebhookSecret("whsec_***").status().message(), HasSubstr("base64"));
  EXPECT_THAT(DecodeWebhookSecret("whsec_c2hvcnQ=").status().message(), HasSubstr("16 to 128 bytes"));
  core::SystemClock clock;
  auto sink = WebhookSink::Create({"ftp://example.test/", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "x"}, clock);
  EXPECT_EQ(sink.status().code(), StatusCode::kInvalidArgument);
}

TEST(Webhook, CloudEventCarriesTheEvent) {
  Event e{42, {1'767'225'600'000'000}, "person.updated", "person", "17", R"({"fields":["phones"]})", 0};
  EXPECT_EQ(CloudEventJson(e),
            R"({"specversion":"1.0","id":"42","source":"onedoor","type":"onedoor.person.updated",)"
            R"("subject":"person/17","time":"2026-01-01T00:00:00.000Z","datacontenttype":"application/json",)"
            R"("data":{"fields":["phones"]}})");
}

// The example in docs/api.md, "Change notifications".
TEST(Webhook, TheApiGuideExampleIsExact) {
  Event e{1042, {1'767'225'600'000'000}, "person.updated", "person", "42",
          R"({"agency_id":2,"fields":["addresses"],"person_id":42,"version":3})", 0};
  const std::string body = CloudEventJson(e);
  EXPECT_EQ(body,
            R"({"specversion":"1.0","id":"1042","source":"onedoor","type":"onedoor.person.updated",)"
            R"("subject":"person/42","time":"2026-01-01T00:00:00.000Z","datacontenttype":"application/json",)"
            R"("data":{"agency_id":2,"fields":["addresses"],"person_id":42,"version":3}})");
  auto key = DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(SignWebhook(*key, "1042", 1767225600, body), "v1,KHdQE5CDHRbo72E5UtjCAzLIjQQcW96vFMQfHEdS88c=");
}

// A one-request HTTP server on a loopback port: answers `status` and keeps the request.
class OneShotServer {
 public:
  explicit OneShotServer(int status) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 1);
    thread_ = std::thread([this, status] {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[8192];
      // Read until the body named by content-length has arrived.
      for (;;) {
        const ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
        const size_t end = request_.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        const size_t cl = request_.find("content-length: ");
        const size_t cl_ci = cl != std::string::npos ? cl : request_.find("Content-Length: ");
        const size_t length = cl_ci == std::string::npos ? 0 : std::stoul(request_.substr(cl_ci + 16));
        if (request_.size() >= end + 4 + length) break;
      }
      const std::string reply = "HTTP/1.1 " + std::to_string(status) + " X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
      (void)!write(c, reply.data(), reply.size());
      close(c);
    });
  }
  ~OneShotServer() {
    shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::string Request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

TEST(Webhook, DeliversASignedCloudEvent) {
  ASSERT_TRUE(core::InitCrypto().ok());
  OneShotServer server(204);
  core::FakeClock clock;
  auto sink = WebhookSink::Create({server.url(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "server-a"}, clock);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  Event e{42, clock.Now(), "person.created", "person", "17", "{}", 0};
  ASSERT_TRUE((*sink)->Deliver(e).ok());
  const std::string request = server.Request();
  const std::string body = CloudEventJson(e);
  const int64_t ts = clock.Now().micros / 1'000'000;
  auto key = DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_THAT(request, HasSubstr("POST /hook HTTP/1.1"));
  EXPECT_THAT(request, HasSubstr("webhook-id: 42\r\n"));
  EXPECT_THAT(request, HasSubstr("webhook-timestamp: " + std::to_string(ts) + "\r\n"));
  EXPECT_THAT(request, HasSubstr("webhook-signature: " + SignWebhook(*key, "42", ts, body) + "\r\n"));
  EXPECT_THAT(request, HasSubstr("onedoor-instance: server-a\r\n"));
  EXPECT_THAT(request, HasSubstr("\r\n\r\n" + body));
}

TEST(Webhook, ErrorAnswerAndNoAnswerAreUnavailable) {
  core::FakeClock clock;
  OneShotServer server(500);
  auto sink = WebhookSink::Create({server.url(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a"}, clock);
  ASSERT_TRUE(sink.ok());
  Event e{1, clock.Now(), "person.created", "person", "1", "{}", 0};
  Status s = (*sink)->Deliver(e);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("HTTP 500"));

  // A port nobody listens on: bind one, then close it.
  std::string closed_url;
  {
    OneShotServer gone(200);
    closed_url = gone.url();
  }
  auto unreachable = WebhookSink::Create({closed_url, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a"}, clock);
  ASSERT_TRUE(unreachable.ok());
  Status s2 = (*unreachable)->Deliver(e);
  EXPECT_EQ(s2.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s2.message(), HasSubstr("could not be reached"));
}

TEST(Webhook, ARotationSignsWithEverySecretAndGoneIsNotRetried) {
  ASSERT_TRUE(core::InitCrypto().ok());
  core::FakeClock clock;
  const std::string current = "whsec_c2Vjb25kLXNlY3JldC0wMTIzNDU2Nzg5";
  const std::string previous = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  {
    OneShotServer server(204);
    WebhookOptions o{server.url(), current, "a"};
    o.previous_secrets = {previous};
    auto sink = WebhookSink::Create(o, clock);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    Event e{7, clock.Now(), "change.person.updated", "person", "3", "{}", 0};
    ASSERT_TRUE((*sink)->Deliver(e).ok());
    const std::string body = CloudEventJson(e);
    const int64_t ts = clock.Now().micros / 1'000'000;
    EXPECT_THAT(server.Request(),
                HasSubstr("webhook-signature: " + SignWebhook(*DecodeWebhookSecret(current), "7", ts, body) + " " +
                          SignWebhook(*DecodeWebhookSecret(previous), "7", ts, body) + "\r\n"));
  }
  OneShotServer gone(410);
  auto sink = WebhookSink::Create({gone.url(), current, "a"}, clock);
  ASSERT_TRUE(sink.ok());
  Status s = (*sink)->Deliver(Event{8, clock.Now(), "x", "person", "3", "{}", 0});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("410"));
}

}  // namespace
}  // namespace exchange

namespace exchange {
namespace {

// Agencies' receivers are reached at public addresses only: the ranges inside a network (and
// this machine) are not public, in IPv4, IPv6 and IPv4 mapped into IPv6.
TEST(PublicAddress, InternalRangesAreNotPublic) {
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                         "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd12::1",
                         "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not an address", ""}) {
    EXPECT_FALSE(IsPublicAddress(ip)) << ip;
  }
  for (const char* ip : {"93.184.216.34", "172.32.0.1", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_TRUE(IsPublicAddress(ip)) << ip;
  }
}

TEST(PublicAddress, AnAgencysReceiverMustBeHttpsToAPublicHost) {
  EXPECT_EQ(NonPublicWebhookReason("https://hooks.example.org/onedoor"), "");
  EXPECT_EQ(NonPublicWebhookReason("https://93.184.216.34:8443/x"), "");
  EXPECT_EQ(NonPublicWebhookReason("http://hooks.example.org/onedoor"), "must be an https:// address");
  for (const char* url : {"https://localhost/x", "https://LOCALHOST./x", "https://api.localhost:8080/x"}) {
    EXPECT_EQ(NonPublicWebhookReason(url), "must be a public address, not this machine") << url;
  }
  for (const char* url : {"https://127.0.0.1/x", "https://10.0.0.5:9000/x", "https://[::1]:8443/x",
                          "https://user@192.168.1.10/x", "https://169.254.169.254/latest/meta-data"}) {
    EXPECT_EQ(NonPublicWebhookReason(url), "must be a public address, not one inside the network") << url;
  }
}

}  // namespace
}  // namespace exchange
