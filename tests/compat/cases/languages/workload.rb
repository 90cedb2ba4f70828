# Threads, sockets and subprocesses in one Ruby process (tests/compat/cases/languages.py).
#
# A TCP server on 127.0.0.1 (an ephemeral port) accepts CLIENTS connections in its own thread
# and serves each in a thread of its own; CLIENTS client threads each send MESSAGES requests of
# varied sizes on one connection and check every reply; CHILDREN threads each run `sort -n`
# through pipes (Open3.capture3: a reader thread and a waiter thread of Ruby's own) on a
# permutation of 0..N-1, more than a pipe buffer each way, and check its output. A Mutex and a
# ConditionVariable hold every client and child thread at a start gate until all exist; results
# come back through Queues. Prints the same deterministic summary as workload.py, then one
# "timing:" line that the case leaves out of the comparison. Exit status 0 when every check
# passed, 1 otherwise.
require "digest"
require "open3"
require "socket"

CLIENTS = 32
MESSAGES = 50
CHILDREN = 8
ALPHABET = ("a".."z").to_a.join * 120

def payload(k, i)
  n = (k * 7919 + i * 104729) % 3000 + 1
  ALPHABET[(k + i) % 26, n]
end

def reply_for(line)
  k, i, text = line.split(" ", 3)
  "#{k} #{i} #{text.size} #{text.reverse}"
end

def serve(conn, served)
  count = 0
  while (line = conn.gets)
    line = line.chomp
    if line == "bye"
      conn.write("served #{count}\n")
      break
    end
    conn.write(reply_for(line) + "\n")
    count += 1
  end
  conn.close
  served << count
end

# Every worker waits at the gate until `expected` workers have arrived and main opens it.
class Gate
  def initialize(expected)
    @mutex = Mutex.new
    @cond = ConditionVariable.new
    @arrived = 0
    @expected = expected
    @open = false
  end

  def arrive_and_wait
    @mutex.synchronize do
      @arrived += 1
      @cond.broadcast
      @cond.wait(@mutex) until @open
    end
  end

  def open_when_all_arrived
    @mutex.synchronize do
      @cond.wait(@mutex) until @arrived == @expected
      @open = true
      @cond.broadcast
    end
  end
end

def client(k, port, gate, results)
  gate.arrive_and_wait
  digest = Digest::SHA256.new
  good = true
  back = 0
  TCPSocket.open("127.0.0.1", port) do |s|
    MESSAGES.times do |i|
      text = payload(k, i)
      s.write("#{k} #{i} #{text}\n")
      got = s.gets
      back += got.bytesize
      digest << got
      good &&= got == "#{k} #{i} #{text.size} #{text.reverse}\n"
    end
    s.write("bye\n")
    good &&= s.gets == "served #{MESSAGES}\n"
    good &&= s.gets.nil? # the server closed the connection
  end
  results << [k, good, back, digest.hexdigest]
end

def child(j, gate, results)
  gate.arrive_and_wait
  n = 20000 + 1000 * j
  data = (0...n).map { |i| "#{(i * 7919 + j * 104729) % n}\n" }.join
  out, err, status = Open3.capture3("sort", "-n", stdin_data: data)
  want = (0...n).map { |i| "#{i}\n" }.join
  results << [j, out == want && err.empty?, n, status.exitstatus]
end

def monotonic
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

started = monotonic
listener = TCPServer.new("127.0.0.1", 0)
port = listener.addr[1]
served = Queue.new
handlers = Queue.new
acceptor = Thread.new do
  CLIENTS.times { handlers << Thread.new(listener.accept) { |conn| serve(conn, served) } }
  listener.close
end

gate = Gate.new(CLIENTS + CHILDREN)
client_results = Queue.new
child_results = Queue.new
workers = CLIENTS.times.map { |k| Thread.new { client(k, port, gate, client_results) } }
workers += CHILDREN.times.map { |j| Thread.new { child(j, gate, child_results) } }
gate.open_when_all_arrived
opened = monotonic
workers.each(&:join)
acceptor.join
CLIENTS.times { handlers.pop.join }
finished = monotonic

counts = CLIENTS.times.map { served.pop }.sort
clients = CLIENTS.times.map { client_results.pop }.sort_by(&:first)
children = CHILDREN.times.map { child_results.pop }.sort_by(&:first)
combined = Digest::SHA256.hexdigest(clients.map(&:last).join)
clients_ok = clients.count { |_, good, _, _| good }
children_ok = children.count { |_, good, _, _| good }
statuses = children.map(&:last).uniq.sort
puts "server: #{counts.size} connections, #{counts.sum} requests served, " \
     "each served #{counts.first}..#{counts.last}"
puts "clients: #{clients_ok} of #{CLIENTS} got every reply right, " \
     "#{clients.sum { |c| c[2] }} bytes back"
puts "replies sha256: #{combined}"
puts "children: #{children_ok} of #{CHILDREN} sort -n outputs right, " \
     "#{children.sum { |c| c[2] }} lines, exit statuses #{statuses}"
puts format("timing: %.3f s to the gate, %.3f s of work, %.0f round trips/s",
            opened - started, finished - opened, CLIENTS * MESSAGES / (finished - opened))
ok = clients_ok == CLIENTS && children_ok == CHILDREN && counts == [MESSAGES] * CLIENTS &&
     statuses == [0]
exit(ok ? 0 : 1)
