# Threads, sockets and subprocesses in one Perl process with ithreads
# (tests/compat/cases/languages.py).
#
# A TCP server on 127.0.0.1 (an ephemeral port) accepts CLIENTS connections in its own thread
# and serves each in a thread of its own; CLIENTS client threads each send MESSAGES requests of
# varied sizes on one connection and check every reply; CHILDREN threads each run `sort -n`
# through pipes (IPC::Open2, a writer thread feeding its stdin while the child thread reads its
# stdout) on a permutation of 0..N-1, more than a pipe buffer each way, and check its output.
# lock/cond_wait/cond_broadcast on a shared variable hold every client and child thread at a
# start gate until all exist; results come back through Thread::Queues. Prints the same
# deterministic summary as workload.py, then one "timing:" line that the case leaves out of the
# comparison. Exit status 0 when every check passed, 1 otherwise.
use strict;
use warnings;
use threads;
use threads::shared;
use Thread::Queue;
use Digest::SHA qw(sha256_hex);
use IO::Socket::INET;
use IPC::Open2;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

use constant { CLIENTS => 32, MESSAGES => 50, CHILDREN => 8 };
my $ALPHABET = join("", "a" .. "z") x 120;

sub payload {
    my ($k, $i) = @_;
    my $n = ($k * 7919 + $i * 104729) % 3000 + 1;
    return substr($ALPHABET, ($k + $i) % 26, $n);
}

sub reply_for {
    my ($line) = @_;
    my ($k, $i, $text) = split / /, $line, 3;
    return "$k $i " . length($text) . " " . reverse($text);
}

sub serve {
    my ($conn, $served) = @_;
    my $count = 0;
    while (defined(my $line = <$conn>)) {
        chomp $line;
        if ($line eq "bye") {
            print $conn "served $count\n";
            last;
        }
        print $conn reply_for($line) . "\n";
        $count++;
    }
    close $conn;
    $served->enqueue($count);
}

# Every worker waits at the gate until CLIENTS + CHILDREN workers have arrived and main opens it.
my $arrived :shared = 0;
my $open :shared = 0;

sub arrive_and_wait {
    lock($arrived);
    $arrived++;
    cond_broadcast($arrived);
    cond_wait($arrived) until $open;
}

sub open_when_all_arrived {
    lock($arrived);
    cond_wait($arrived) until $arrived == CLIENTS + CHILDREN;
    $open = 1;
    cond_broadcast($arrived);
}

sub client {
    my ($k, $port, $results) = @_;
    arrive_and_wait();
    my $digest = Digest::SHA->new(256);
    my ($good, $back) = (1, 0);
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "tcp")
        or die "client $k: connect: $!\n";
    $s->autoflush(1);
    for my $i (0 .. MESSAGES - 1) {
        my $text = payload($k, $i);
        print $s "$k $i $text\n";
        my $got = <$s>;
        $got = "" unless defined $got;
        $back += length $got;
        $digest->add($got);
        $good &&= $got eq "$k $i " . length($text) . " " . reverse($text) . "\n";
    }
    print $s "bye\n";
    my $bye = <$s>;
    $good &&= defined $bye && $bye eq "served " . MESSAGES . "\n";
    $good &&= !defined(<$s>);    # the server closed the connection
    close $s;
    $results->enqueue([$k, $good ? 1 : 0, $back, $digest->hexdigest]);
}

sub child {
    my ($j, $results) = @_;
    arrive_and_wait();
    my $n = 20000 + 1000 * $j;
    my $data = join "", map { ($_ * 7919 + $j * 104729) % $n . "\n" } 0 .. $n - 1;
    my $pid = open2(my $from, my $to, "sort", "-n");
    my $writer = threads->create(sub { print $to $data; close $to or die "close: $!\n"; 1 });
    close $to;    # the writer thread's copy stays open until it closes it
    my $out = do { local $/; <$from> };
    close $from;
    my $wrote = $writer->join;
    waitpid($pid, 0);
    my $status = $? >> 8;
    my $want = join "", map { "$_\n" } 0 .. $n - 1;
    $results->enqueue([$j, ($wrote && $out eq $want) ? 1 : 0, $n, $status]);
}

my $started = clock_gettime(CLOCK_MONOTONIC);
my $listener = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => CLIENTS,
                                     Proto => "tcp", ReuseAddr => 1)
    or die "listen: $!\n";
my $port = $listener->sockport;
my $served = Thread::Queue->new;
my $handlers = Thread::Queue->new;
my $acceptor = threads->create(sub {
    for (1 .. CLIENTS) {
        my $conn = $listener->accept or die "accept: $!\n";
        $conn->autoflush(1);
        $handlers->enqueue(threads->create(\&serve, $conn, $served)->tid);
        close $conn;    # the handler's copy stays open until it closes it
    }
    close $listener;
});

my $client_results = Thread::Queue->new;
my $child_results = Thread::Queue->new;
my @workers = map { threads->create(\&client, $_, $port, $client_results) } 0 .. CLIENTS - 1;
push @workers, map { threads->create(\&child, $_, $child_results) } 0 .. CHILDREN - 1;
open_when_all_arrived();
my $opened = clock_gettime(CLOCK_MONOTONIC);
$_->join for @workers;
$acceptor->join;
threads->object($handlers->dequeue)->join for 1 .. CLIENTS;
my $finished = clock_gettime(CLOCK_MONOTONIC);

my @counts = sort { $a <=> $b } map { $served->dequeue } 1 .. CLIENTS;
my @clients = sort { $a->[0] <=> $b->[0] } map { $client_results->dequeue } 1 .. CLIENTS;
my @children = sort { $a->[0] <=> $b->[0] } map { $child_results->dequeue } 1 .. CHILDREN;
my $combined = sha256_hex(join "", map { $_->[3] } @clients);
my $clients_ok = grep { $_->[1] } @clients;
my $children_ok = grep { $_->[1] } @children;
my %seen;
my @statuses = sort { $a <=> $b } grep { !$seen{$_}++ } map { $_->[3] } @children;
my ($bytes, $lines, $requests) = (0, 0, 0);
$bytes += $_->[2] for @clients;
$lines += $_->[2] for @children;
$requests += $_ for @counts;
print "server: " . scalar(@counts) . " connections, $requests requests served, "
    . "each served $counts[0]..$counts[-1]\n";
print "clients: $clients_ok of " . CLIENTS . " got every reply right, $bytes bytes back\n";
print "replies sha256: $combined\n";
print "children: $children_ok of " . CHILDREN . " sort -n outputs right, $lines lines, "
    . "exit statuses [" . join(", ", @statuses) . "]\n";
printf "timing: %.3f s to the gate, %.3f s of work, %.0f round trips/s\n",
    $opened - $started, $finished - $opened, CLIENTS * MESSAGES / ($finished - $opened);
my $ok = $clients_ok == CLIENTS && $children_ok == CHILDREN
    && !grep({ $_ != MESSAGES } @counts) && "@statuses" eq "0";
exit($ok ? 0 : 1);
