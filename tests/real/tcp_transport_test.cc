#include "real/tcp_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/real/loopback_port.h"

namespace ksim::real {
namespace {

TcpTransportOptions LoopbackOptions() {
  TcpTransportOptions options;
  options.bind_ip = "127.0.0.1";
  return options;
}

uint16_t UnusedPort() { return testing::UnusedLoopbackPort(); }

// Everything received on one connection end.
struct Inbox {
  std::vector<std::string> frames;
  std::optional<Status> closed;
  int closed_calls = 0;
  bool opened = false;

  ConnectionHandlers Handlers() {
    ConnectionHandlers h;
    h.on_frame = [this](std::string_view f) { frames.emplace_back(f); };
    h.on_closed = [this](const Status& why) {
      ++closed_calls;
      closed = why;
    };
    return h;
  }
};

class TcpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(EventLoop::Create(&loop_).ok());
    server_ = std::make_unique<TcpTransport>(loop_.get(), "127.0.0.1", LoopbackOptions());
    client_ = std::make_unique<TcpTransport>(loop_.get(), "127.0.0.1", LoopbackOptions());
  }

  void TearDown() override {
    server_conns_.clear();
    client_.reset();
    server_.reset();
    loop_.reset();
  }

  // Listens on an ephemeral port; accepted connections go to server_conns_ and, if
  // `set_handlers`, get server_inbox_'s handlers right away.
  uint16_t ListenOnServer(bool set_handlers) {
    uint16_t port = 0;
    Status s = server_->Listen(
        0,
        [this, set_handlers](std::shared_ptr<Connection> conn) {
          if (set_handlers) conn->SetHandlers(server_inbox_.Handlers());
          server_conns_.push_back(std::move(conn));
        },
        &port);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_NE(port, 0);
    return port;
  }

  bool RunUntil(const std::function<bool()>& done, Nanos timeout = Seconds(10)) {
    return loop_->RunUntil(done, timeout);
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<TcpTransport> server_;
  std::unique_ptr<TcpTransport> client_;
  std::vector<std::shared_ptr<Connection>> server_conns_;
  Inbox server_inbox_;
};

TEST_F(TcpTransportTest, ExchangeThousandFramesInOrderIncludingEmptyAndOneMiB) {
  // The server echoes every frame back.
  uint16_t port = 0;
  ASSERT_TRUE(server_
                  ->Listen(
                      0,
                      [this](std::shared_ptr<Connection> conn) {
                        Connection* raw = conn.get();
                        ConnectionHandlers h;
                        h.on_frame = [this, raw](std::string_view f) {
                          server_inbox_.frames.emplace_back(f);
                          EXPECT_TRUE(raw->Send(std::string(f)).ok());
                        };
                        conn->SetHandlers(std::move(h));
                        server_conns_.push_back(std::move(conn));
                      },
                      &port)
                  .ok());
  EXPECT_EQ(server_->LocalAddress(port), "127.0.0.1:" + std::to_string(port));

  std::vector<std::string> sent;
  for (int i = 0; i < 1000; ++i) {
    if (i == 0) {
      sent.emplace_back();
    } else if (i == 500) {
      std::string big(1u << 20, '\0');
      for (size_t j = 0; j < big.size(); ++j) big[j] = static_cast<char>((j * 131 + 7) & 0xff);
      sent.push_back(std::move(big));
    } else {
      sent.push_back("frame-" + std::to_string(i));
    }
  }
  Inbox client_inbox;
  auto conn = client_->Connect(client_->LocalAddress(port), client_inbox.Handlers(),
                               [&] { client_inbox.opened = true; });
  ASSERT_NE(conn, nullptr);
  EXPECT_TRUE(conn->is_open());
  // Sent before on_open: they queue.
  for (const std::string& f : sent) ASSERT_TRUE(conn->Send(f).ok());
  EXPECT_FALSE(client_inbox.opened) << "on_open must not run inside Connect";

  ASSERT_TRUE(RunUntil([&] { return client_inbox.frames.size() == sent.size(); }));
  EXPECT_TRUE(client_inbox.opened);
  ASSERT_EQ(server_inbox_.frames.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    ASSERT_EQ(server_inbox_.frames[i], sent[i]) << "server frame " << i;
    ASSERT_EQ(client_inbox.frames[i], sent[i]) << "client frame " << i;
  }
  EXPECT_FALSE(client_inbox.closed.has_value());
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
  EXPECT_EQ(server_conns_.size(), 1u);
  EXPECT_EQ(server_conns_[0]->peer(), "127.0.0.1:0");
  EXPECT_EQ(conn->peer(), "127.0.0.1:" + std::to_string(port));
}

TEST_F(TcpTransportTest, ConnectToClosedPortReportsUnavailable) {
  Inbox inbox;
  auto conn = client_->Connect("127.0.0.1:" + std::to_string(UnusedPort()), inbox.Handlers(),
                               [&] { inbox.opened = true; });
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(inbox.closed_calls, 0) << "must not report inside Connect";
  ASSERT_TRUE(RunUntil([&] { return inbox.closed.has_value(); }));
  EXPECT_EQ(inbox.closed->code(), Status::Code::kUnavailable) << inbox.closed->ToString();
  EXPECT_FALSE(inbox.opened);
  EXPECT_FALSE(conn->is_open());
  EXPECT_TRUE(conn->Send("x").Is(Status::Code::kClosed));
  loop_->RunFor(Milliseconds(20));
  EXPECT_EQ(inbox.closed_calls, 1);
}

TEST_F(TcpTransportTest, ConnectTimeoutOrUnreachableReportsUnavailable) {
  TcpTransportOptions options = LoopbackOptions();
  options.connect_timeout = Milliseconds(200);
  TcpTransport transport(loop_.get(), "127.0.0.1", options);
  Inbox inbox;
  // TEST-NET-1 (RFC 5737): never routed. Either the SYN goes unanswered (timeout) or
  // there is no route at all; both must be Unavailable.
  auto conn = transport.Connect("192.0.2.1:9", inbox.Handlers(), [&] { inbox.opened = true; });
  const auto start = EventLoop::Now();
  ASSERT_TRUE(RunUntil([&] { return inbox.closed.has_value(); }, Seconds(5)));
  EXPECT_LT(EventLoop::Now() - start, std::chrono::seconds(2));
  EXPECT_EQ(inbox.closed->code(), Status::Code::kUnavailable) << inbox.closed->ToString();
  EXPECT_FALSE(inbox.opened);
}

TEST_F(TcpTransportTest, ConnectTimeoutFiresWhenSynIsIgnored) {
  // A listener whose accept queue is full drops new SYNs, so the connect neither
  // succeeds nor fails: only the transport's connect timeout can end it.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 0), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(fd);
  }
  loop_->RunFor(Milliseconds(50));  // let the handshakes that can complete, complete

  TcpTransportOptions options = LoopbackOptions();
  options.connect_timeout = Milliseconds(300);
  TcpTransport transport(loop_.get(), "127.0.0.1", options);
  Inbox inbox;
  const auto start = EventLoop::Now();
  auto conn = transport.Connect("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), inbox.Handlers(),
                                [&] { inbox.opened = true; });
  ASSERT_TRUE(RunUntil([&] { return inbox.closed.has_value() || inbox.opened; }, Seconds(5)));
  const auto elapsed = EventLoop::Now() - start;
  ASSERT_FALSE(inbox.opened);
  EXPECT_EQ(inbox.closed->code(), Status::Code::kUnavailable) << inbox.closed->ToString();
  EXPECT_NE(inbox.closed->message().find("no answer within 300 ms"), std::string::npos) << inbox.closed->ToString();
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_EQ(transport.open_sockets(), 0u);
  for (int fd : fillers) close(fd);
  close(listener);
}

TEST_F(TcpTransportTest, SendQueueOverflowBreaksTheConnection) {
  TcpTransportOptions options = LoopbackOptions();
  options.max_output_bytes = kMaxFrameBytes + 4;
  TcpTransport transport(loop_.get(), "127.0.0.1", options);
  const uint16_t port = ListenOnServer(/*set_handlers=*/false);  // the server never reads
  Inbox inbox;
  auto conn = transport.Connect("127.0.0.1:" + std::to_string(port), inbox.Handlers(), [&] { inbox.opened = true; });
  ASSERT_TRUE(RunUntil([&] { return inbox.opened; }));
  Status s;
  int sent = 0;
  while (s.ok() && sent < 1000) {
    s = conn->Send(std::string(1u << 20, 'x'));
    if (s.ok()) ++sent;
  }
  EXPECT_EQ(s.code(), Status::Code::kClosed);
  EXPECT_LE(sent, 16);
  EXPECT_FALSE(inbox.closed.has_value()) << "reported inside Send";
  ASSERT_TRUE(RunUntil([&] { return inbox.closed.has_value(); }));
  EXPECT_EQ(inbox.closed->code(), Status::Code::kUnavailable) << inbox.closed->ToString();
}

TEST_F(TcpTransportTest, MalformedAddressReturnsNull) {
  EXPECT_EQ(client_->Connect("no-port", {}, nullptr), nullptr);
  EXPECT_EQ(client_->Connect("127.0.0.1:99999", {}, nullptr), nullptr);
}

TEST_F(TcpTransportTest, UnresolvableNameReportsUnavailable) {
  Inbox inbox;
  auto conn = client_->Connect("no-such-host.invalid:80", inbox.Handlers(), nullptr);
  ASSERT_NE(conn, nullptr);
  ASSERT_TRUE(RunUntil([&] { return inbox.closed.has_value(); }));
  EXPECT_EQ(inbox.closed->code(), Status::Code::kUnavailable);
}

TEST_F(TcpTransportTest, LocalhostResolves) {
  const uint16_t port = ListenOnServer(true);
  Inbox inbox;
  auto conn = client_->Connect("localhost:" + std::to_string(port), inbox.Handlers(), [&] { inbox.opened = true; });
  ASSERT_TRUE(RunUntil([&] { return inbox.opened || inbox.closed.has_value(); }));
  ASSERT_TRUE(inbox.opened) << inbox.closed->ToString();
  ASSERT_TRUE(conn->Send("hi").ok());
  ASSERT_TRUE(RunUntil([&] { return server_inbox_.frames.size() == 1; }));
  EXPECT_EQ(server_inbox_.frames[0], "hi");
}

TEST_F(TcpTransportTest, PeerCloseIsSeenAsOnClosedButLocalCloseIsSilent) {
  const uint16_t port = ListenOnServer(true);
  Inbox client_inbox;
  auto conn = client_->Connect(client_->LocalAddress(port), client_inbox.Handlers(),
                               [&] { client_inbox.opened = true; });
  ASSERT_TRUE(RunUntil([&] { return client_inbox.opened && server_conns_.size() == 1; }));
  ASSERT_TRUE(conn->Send("last words").ok());
  conn->Close();
  EXPECT_FALSE(conn->is_open());
  EXPECT_TRUE(conn->Send("too late").Is(Status::Code::kClosed));
  ASSERT_TRUE(RunUntil([&] { return server_inbox_.closed.has_value(); }));
  EXPECT_EQ(server_inbox_.closed->code(), Status::Code::kClosed) << server_inbox_.closed->ToString();
  EXPECT_EQ(server_inbox_.frames, std::vector<std::string>{"last words"});
  EXPECT_FALSE(server_conns_[0]->is_open());
  loop_->RunFor(Milliseconds(20));
  EXPECT_EQ(client_inbox.closed_calls, 0) << "no handler runs after a local Close";
  EXPECT_EQ(server_inbox_.closed_calls, 1);
}

TEST_F(TcpTransportTest, ServerCloseIsSeenByClient) {
  const uint16_t port = ListenOnServer(true);
  Inbox client_inbox;
  auto conn = client_->Connect(client_->LocalAddress(port), client_inbox.Handlers(), nullptr);
  ASSERT_TRUE(RunUntil([&] { return server_conns_.size() == 1; }));
  server_conns_[0]->Close();
  ASSERT_TRUE(RunUntil([&] { return client_inbox.closed.has_value(); }));
  EXPECT_EQ(client_inbox.closed->code(), Status::Code::kClosed);
  EXPECT_EQ(server_inbox_.closed_calls, 0);
}

TEST_F(TcpTransportTest, CloseFlushesQueuedFramesAndDroppingTheHandleCloses) {
  const uint16_t port = ListenOnServer(true);
  constexpr int kFrames = 200;
  {
    auto conn = client_->Connect(client_->LocalAddress(port), {}, nullptr);
    // 12.8 MB: far more than the socket buffers take at once, so most of it is still
    // queued in user space when the handle goes away.
    for (int i = 0; i < kFrames; ++i) ASSERT_TRUE(conn->Send(std::string(64u << 10, static_cast<char>(i))).ok());
  }  // dropped: closes, still connecting
  ASSERT_TRUE(RunUntil([&] { return server_inbox_.closed.has_value(); }));
  ASSERT_EQ(server_inbox_.frames.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_EQ(server_inbox_.frames[static_cast<size_t>(i)], std::string(64u << 10, static_cast<char>(i)));
  }
  EXPECT_EQ(server_inbox_.closed->code(), Status::Code::kClosed);
  EXPECT_EQ(client_->open_sockets(), 0u);
}

TEST_F(TcpTransportTest, DroppedHandleRunsNoHandlers) {
  const uint16_t port = ListenOnServer(true);
  int calls = 0;
  ConnectionHandlers h;
  h.on_frame = [&](std::string_view) { ++calls; };
  h.on_closed = [&](const Status&) { ++calls; };
  client_->Connect(client_->LocalAddress(port), h, [&] { ++calls; });  // handle dropped at once
  client_->Connect("127.0.0.1:" + std::to_string(UnusedPort()), h, [&] { ++calls; });
  loop_->RunFor(Milliseconds(100));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(client_->open_sockets(), 0u);
}

TEST_F(TcpTransportTest, OversizedLengthPrefixClosesWithCorruption) {
  const uint16_t port = ListenOnServer(true);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  // One valid frame, then a header announcing kMaxFrameBytes + 1.
  const uint32_t too_big = static_cast<uint32_t>(kMaxFrameBytes + 1);
  const unsigned char bytes[] = {0,
                                 0,
                                 0,
                                 2,
                                 'o',
                                 'k',
                                 static_cast<unsigned char>(too_big >> 24),
                                 static_cast<unsigned char>(too_big >> 16),
                                 static_cast<unsigned char>(too_big >> 8),
                                 static_cast<unsigned char>(too_big)};
  ASSERT_EQ(write(fd, bytes, sizeof(bytes)), static_cast<ssize_t>(sizeof(bytes)));
  ASSERT_TRUE(RunUntil([&] { return server_inbox_.closed.has_value(); }));
  EXPECT_EQ(server_inbox_.closed->code(), Status::Code::kCorruption) << server_inbox_.closed->ToString();
  EXPECT_EQ(server_inbox_.frames, std::vector<std::string>{"ok"});
  // The server really closed the socket: the raw peer reads EOF (or a reset).
  char buf[8];
  EXPECT_LE(read(fd, buf, sizeof(buf)), 0);
  close(fd);
}

TEST_F(TcpTransportTest, FramesBeforeSetHandlersAreHeldThenDeliveredFromTheLoop) {
  const uint16_t port = ListenOnServer(/*set_handlers=*/false);
  auto conn = client_->Connect(client_->LocalAddress(port), {}, nullptr);
  for (const char* f : {"one", "", "three"}) ASSERT_TRUE(conn->Send(f).ok());
  ASSERT_TRUE(RunUntil([&] { return server_conns_.size() == 1; }));
  loop_->RunFor(Milliseconds(50));  // the frames arrive at the server meanwhile
  server_conns_[0]->SetHandlers(server_inbox_.Handlers());
  EXPECT_TRUE(server_inbox_.frames.empty()) << "delivered inside SetHandlers";
  ASSERT_TRUE(RunUntil([&] { return server_inbox_.frames.size() == 3; }));
  EXPECT_EQ(server_inbox_.frames, (std::vector<std::string>{"one", "", "three"}));
}

TEST_F(TcpTransportTest, ClearingOnFramePausesDeliveryAndSettingItResumes) {
  uint16_t port = 0;
  ASSERT_TRUE(server_
                  ->Listen(
                      0,
                      [&](std::shared_ptr<Connection> conn) {
                        Connection* raw = conn.get();
                        ConnectionHandlers h;
                        h.on_frame = [&, raw](std::string_view f) {
                          server_inbox_.frames.emplace_back(f);
                          raw->SetHandlers({});  // pause after the first frame
                        };
                        conn->SetHandlers(std::move(h));
                        server_conns_.push_back(std::move(conn));
                      },
                      &port)
                  .ok());
  auto conn = client_->Connect(client_->LocalAddress(port), {}, nullptr);
  // One callback's sends leave in one write, so they arrive (and are read) together.
  for (const char* f : {"a", "b", "c"}) ASSERT_TRUE(conn->Send(f).ok());
  ASSERT_TRUE(RunUntil([&] { return server_inbox_.frames.size() == 1; }));
  loop_->RunFor(Milliseconds(50));
  EXPECT_EQ(server_inbox_.frames, std::vector<std::string>{"a"});
  server_conns_[0]->SetHandlers(server_inbox_.Handlers());
  EXPECT_EQ(server_inbox_.frames.size(), 1u) << "delivered inside SetHandlers";
  ASSERT_TRUE(RunUntil([&] { return server_inbox_.frames.size() == 3; }));
  EXPECT_EQ(server_inbox_.frames, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(TcpTransportTest, HandlerMayCloseItsConnectionWhileFramesArePending) {
  uint16_t port = 0;
  int frames_seen = 0;
  ASSERT_TRUE(server_
                  ->Listen(
                      0,
                      [&](std::shared_ptr<Connection> conn) {
                        Connection* raw = conn.get();
                        ConnectionHandlers h;
                        h.on_frame = [&, raw](std::string_view f) {
                          ++frames_seen;
                          raw->Close();
                          EXPECT_EQ(f, "first");  // the view stays valid after Close
                          server_conns_.clear();  // drop the last handle too
                        };
                        h.on_closed = [&](const Status&) { ADD_FAILURE() << "on_closed after Close"; };
                        conn->SetHandlers(std::move(h));
                        server_conns_.push_back(std::move(conn));
                      },
                      &port)
                  .ok());
  Inbox client_inbox;
  auto conn = client_->Connect(client_->LocalAddress(port), client_inbox.Handlers(), nullptr);
  for (const char* f : {"first", "second", "third"}) ASSERT_TRUE(conn->Send(f).ok());
  ASSERT_TRUE(RunUntil([&] { return client_inbox.closed.has_value(); }));
  EXPECT_EQ(frames_seen, 1);
}

TEST_F(TcpTransportTest, ListenTwiceOnOnePortIsAlreadyExists) {
  const uint16_t port = ListenOnServer(true);
  Status again = client_->Listen(port, [](std::shared_ptr<Connection>) {});
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists) << again.ToString();
  EXPECT_EQ(server_->Listen(port, [](std::shared_ptr<Connection>) {}).code(), Status::Code::kAlreadyExists);
  // After StopListening the port is free again and connections are refused meanwhile.
  server_->StopListening(port);
  Inbox inbox;
  auto conn = client_->Connect(client_->LocalAddress(port), inbox.Handlers(), nullptr);
  ASSERT_TRUE(RunUntil([&] { return inbox.closed.has_value(); }));
  EXPECT_EQ(inbox.closed->code(), Status::Code::kUnavailable);
  EXPECT_TRUE(server_->Listen(port, [](std::shared_ptr<Connection>) {}).ok());
}

TEST_F(TcpTransportTest, DestroyingTheTransportRunsNoHandlersAndPeerSeesClose) {
  const uint16_t port = ListenOnServer(true);
  Inbox client_inbox;
  auto conn = client_->Connect(client_->LocalAddress(port), client_inbox.Handlers(), nullptr);
  ASSERT_TRUE(RunUntil([&] { return server_conns_.size() == 1; }));
  server_.reset();  // the handle in server_conns_ outlives its transport
  EXPECT_FALSE(server_conns_[0]->is_open());
  EXPECT_TRUE(server_conns_[0]->Send("x").Is(Status::Code::kClosed));
  server_conns_[0]->Close();
  ASSERT_TRUE(RunUntil([&] { return client_inbox.closed.has_value(); }));
  EXPECT_EQ(server_inbox_.closed_calls, 0);
}

}  // namespace
}  // namespace ksim::real
