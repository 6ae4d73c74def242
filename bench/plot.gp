# bench/e2e.sh's run over time, in three panels: throughput, latency
# percentiles, memory of every process. bench/run.sh calls
#
#   gnuplot -e "series='e2e.series'; samples='e2e.samples'; out='results.svg'" bench/plot.gp
#
# (out ending in .png: a PNG instead)
#
# series:  t_s (start of the step) delivered/s entered/s pipeline_p50 p90 p99 ingest_p99
#          fanout_p99 (ms; NaN where a step saw no reading)
# samples: t_s process rss_MiB

if (!exists("series")) series = 'e2e.series'
if (!exists("samples")) samples = 'e2e.samples'
if (!exists("out")) out = 'bench/results.svg'
if (!exists("title")) title = 'grilld end to end'

if (strlen(out) > 4 && out[strlen(out)-3:] eq '.png') {
	set terminal pngcairo size 900,1000 font 'sans,10' background '#ffffff'
} else {
	set terminal svg size 900,1000 dynamic font 'sans,11' background '#ffffff'
}
set output out
set datafile missing 'NaN'
set key outside right top
set grid
set lmargin 10
set rmargin 24
stats series using 1 nooutput
step = STATS_records > 1 ? (STATS_max - STATS_min) / (STATS_records - 1) : 1
set xrange [0:STATS_max + step]
set multiplot layout 3,1 title title

set title 'readings per second (each step)'
set ylabel 'readings/s'
set xlabel ''
plot series using ($1 + step / 2):3 with histeps lw 3 title 'into Redis', \
     ''     using ($1 + step / 2):2 with histeps lw 2 dashtype 2 lc rgb '#e07000' title 'to the client'

set title 'latency (percentiles of each step)'
set ylabel 'ms'
set logscale y
plot series using ($1 + step / 2):4 with linespoints pt 7 ps 0.5 title 'poller to client p50', \
     ''     using ($1 + step / 2):5 with linespoints pt 7 ps 0.5 title 'poller to client p90', \
     ''     using ($1 + step / 2):6 with linespoints pt 7 ps 0.5 title 'poller to client p99', \
     ''     using ($1 + step / 2):7 with linespoints pt 6 ps 0.5 title 'ingest hop p99', \
     ''     using ($1 + step / 2):8 with linespoints pt 4 ps 0.5 title 'fan-out hop p99'
unset logscale y

set title 'resident memory'
set ylabel 'MiB'
set xlabel 'seconds into the run'
procs = 'poller ingest stream twsim redis influxd'
plot for [p in procs] samples using 1:(strcol(2) eq p ? $3 : NaN) with lines lw 2 title p

unset multiplot
