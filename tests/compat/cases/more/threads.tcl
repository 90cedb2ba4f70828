# Tcl threads (package Thread): a socket server in the main thread, 8 worker threads each
# making connections to it, a thread pool (tpool) hashing, exec of children from threads,
# thread::send and shared variables (tsv).
package require Thread
set nworkers 8
set nconns 25
set server [socket -server accept -myaddr 127.0.0.1 0]
set port [lindex [fconfigure $server -sockname] 2]
proc accept {chan addr port} {
    fconfigure $chan -translation binary -buffering full
    fileevent $chan readable [list echo $chan]
}
proc echo {chan} {
    if {[gets $chan line] < 0} {
        if {[eof $chan]} { close $chan }
        return
    }
    # reply: the line reversed and its length
    puts $chan "[string reverse $line] [string length $line]"
    flush $chan
}
tsv::set stats replies 0
set main [thread::id]
set workers {}
for {set w 0} {$w < $nworkers} {incr w} {
    set t [thread::create -joinable {
        proc work {main w port nconns} {
            set sum 0
            for {set i 0} {$i < $nconns} {incr i} {
                set s [socket 127.0.0.1 $port]
                fconfigure $s -translation binary -buffering line
                set msg [string repeat "w${w}c${i}-" [expr {1 + ($i * 7) % 50}]]
                puts $s $msg
                set reply [gets $s]
                close $s
                if {$reply ne "[string reverse $msg] [string length $msg]"} {
                    error "worker $w connection $i: bad reply"
                }
                tsv::incr stats replies
                incr sum [string length $msg]
            }
            # a child process from this thread
            set out [exec sh -c "echo child of worker $w; printf %s $sum | wc -c"]
            thread::send -async $main [list done $w $sum [string map {"\n" " | "} $out]]
        }
        thread::wait
    }]
    lappend workers $t
}
set results {}
proc done {w sum out} {
    global results
    lappend results "worker $w: $sum bytes echoed; $out"
}
set i 0
foreach t $workers {
    thread::send -async $t [list work $main $i $port $nconns]
    incr i
}
while {[llength $results] < $nworkers} { vwait results }
foreach line [lsort -dictionary $results] { puts $line }
puts "replies counted in tsv: [tsv::get stats replies]"
# a thread pool of 4 computing sha-like sums of big strings
package require Tcl 8.6
set pool [tpool::create -minworkers 4 -maxworkers 4 -initcmd {
    proc crunch {n} {
        set h 0
        for {set i 0} {$i < $n} {incr i} { set h [expr {($h * 31 + $i) % 1000000007}] }
        return $h
    }
}]
set jobs {}
for {set j 0} {$j < 16} {incr j} { lappend jobs [tpool::post $pool [list crunch [expr {20000 + $j * 5000}]]] }
set total 0
foreach job $jobs {
    tpool::wait $pool $job
    set total [expr {($total + [tpool::get $pool $job]) % 1000000007}]
}
puts "tpool total: $total"
tpool::release $pool
foreach t $workers { thread::release $t }
foreach t $workers { thread::join $t }
close $server
puts "done"
