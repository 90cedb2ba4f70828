# 50 producer threads, each keeping its own fiber-local Thread.current[:x] across sleeps and
# passes, push squares onto a Queue that 4 consumer threads drain; prints a deterministic summary.
PRODUCERS = 50
CONSUMERS = 4

queue = Queue.new
sums = Queue.new
consumers = CONSUMERS.times.map do
  Thread.new do
    sum = 0
    count = 0
    while (v = queue.pop) != :done
      sum += v
      count += 1
    end
    sums << [sum, count]
  end
end

producers = PRODUCERS.times.map do |i|
  Thread.new(i) do |n|
    Thread.current[:x] = n
    sleep 0.002 * (n % 5)
    Thread.pass
    own = Thread.current[:x] == n
    queue << n * n
    sleep 0.001
    own && Thread.current[:x] == n
  end
end

own = producers.map(&:value).count(true)
CONSUMERS.times { queue << :done }
consumers.each(&:join)
totals = CONSUMERS.times.map { sums.pop }
puts "producers that saw only their own Thread.current[:x]: #{own} of #{PRODUCERS}"
puts "items through the queue: #{totals.sum { |_, c| c }}"
puts "sum of squares through the queue: #{totals.sum { |s, _| s }}"
puts "main's Thread.current[:x]: #{Thread.current[:x].inspect}"
exit(own == PRODUCERS ? 0 : 1)
