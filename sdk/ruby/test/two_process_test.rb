# frozen_string_literal: true

# Two processes sharing ONE token and setting no owner must exclude each other: each
# increments a shared counter file N times under the lock (then under the election), and
# the counter ends at exactly 2N. Against helpers that send no owner, both would "hold".
require 'minitest/autorun'
require 'rbconfig'
require 'securerandom'
require 'tmpdir'
require_relative 'conformance/runner'

class TwoProcessTest < Minitest::Test
  CYCLES = 30
  DEADLINE = 60

  def setup
    @server = Conformance::Servers.for({})
    @token = @server.admin_post('/admin/accounts', { 'name' => "two-proc-#{SecureRandom.hex(6)}" })['token']
  end

  def test_two_processes_sharing_a_token_take_turns_on_a_lock
    assert_equal 2 * CYCLES, run_two('lock')
  end

  def test_two_processes_sharing_a_token_take_turns_as_leader
    assert_equal 2 * CYCLES, run_two('election')
  end

  private

  def run_two(mode)
    Dir.mktmpdir('octostore-two-proc-') do |dir|
      counter = File.join(dir, 'counter')
      File.write(counter, '0')
      worker = File.expand_path('two_process_worker.rb', __dir__)
      lib = File.expand_path('../lib', __dir__)
      name = "two-proc-#{mode}"
      pids = Array.new(2) do |i|
        Process.spawn(RbConfig.ruby, '-I', lib, worker, mode, @server.base_url, @token, name, counter, CYCLES.to_s,
                      out: [File.join(dir, "out#{i}"), 'w'], err: [File.join(dir, "err#{i}"), 'w'])
      end
      statuses = wait_all(pids, dir)
      statuses.each_with_index do |st, i|
        assert st&.success?, "worker #{i} failed: #{File.read(File.join(dir, "err#{i}"))}"
      end
      File.read(counter).to_i
    end
  end

  # Waits for every pid until DEADLINE; kills (by pid) any still running then.
  def wait_all(pids, _dir)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + DEADLINE
    statuses = {}
    until statuses.size == pids.size
      pids.each do |pid|
        next if statuses.key?(pid)

        _, st = Process.waitpid2(pid, Process::WNOHANG)
        statuses[pid] = st if st
      end
      break if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.02 unless statuses.size == pids.size
    end
    (pids - statuses.keys).each do |pid|
      Process.kill('KILL', pid)
      Process.waitpid(pid)
    rescue Errno::ESRCH, Errno::ECHILD
      nil
    end
    pids.map { |pid| statuses[pid] }
  end
end

Minitest.after_run { Conformance::Servers.stop_all }
