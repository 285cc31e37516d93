# frozen_string_literal: true

# One of the two processes of two_process_test.rb: N cycles of take the lock (or win the
# election) -> read the counter file -> short pause -> write counter + 1 -> release (or
# resign). No owner is set: the helper's default must keep the two processes apart.
#
#   ruby -Ilib test/two_process_worker.rb lock|election BASE_URL TOKEN NAME COUNTER_FILE N
require 'octostore'

mode, url, token, name, file, n = ARGV
client = OctoStore::Client.new(url, token: token)
election = client.election(name, ttl: 15)

def bump(file)
  value = File.read(file).to_i
  sleep 0.005 # widen the window in which a second holder would interleave
  File.write(file, (value + 1).to_s)
end

Integer(n).times do |i|
  if mode == 'lock'
    client.with_lock(name, ttl: 15, wait: 30) { bump(file) }
  else
    election.campaign("#{Process.pid}:#{i}", wait: 30)
    begin
      bump(file)
    ensure
      election.resign
    end
  end
end
