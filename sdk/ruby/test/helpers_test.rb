# frozen_string_literal: true

# The helper's own promises beyond the shared scenarios: with_lock's block semantics and
# the on_lost callback, against a live octostore-lock from OCTOSTORE_BIN.
require 'minitest/autorun'
require 'rbconfig'
require 'securerandom'
require_relative 'conformance/runner'

class HelpersTest < Minitest::Test
  def setup
    server = Conformance::Servers.for({})
    issued = server.admin_post('/admin/accounts', { 'name' => "helpers-#{SecureRandom.hex(6)}" })
    @client = OctoStore::Client.new(server.base_url, token: issued['token'])
    @other = OctoStore::Client.new(server.base_url,
                                   token: server.admin_post("/admin/accounts/#{issued['account_id']}/tokens", nil)['token'])
  end

  def test_with_lock_holds_the_lock_for_the_block_and_returns_its_value
    seen = nil
    value = @client.with_lock('report', ttl: 30) do |lease|
      seen = lease
      assert_operator lease.fencing_token, :>=, 1
      assert_nil @other.try_lock('report', ttl: 30)
      :done
    end
    assert_equal :done, value
    assert_equal 'free', @client.status('report').status
    refute seen.lost?
  end

  def test_with_lock_releases_when_the_block_raises
    assert_raises(RuntimeError) { @client.with_lock('report', ttl: 30) { raise 'boom' } }
    assert_equal 'free', @client.status('report').status
  end

  def test_with_lock_waits_for_the_holder_and_times_out
    holder = @other.try_lock('report', ttl: 30, auto_renew: false)
    err = assert_raises(OctoStore::LockTimeout) { @client.with_lock('report', ttl: 30, wait: 1) { flunk 'ran without the lock' } }
    assert_equal 'timeout', err.code
    holder.release
  end

  def test_on_lost_fires_once_with_the_reason
    lease = @client.lock('job', ttl: 1, wait: 0)
    reasons = Queue.new
    lease.on_lost { |reason| reasons << reason }
    @client.locks.release_lock('job', { lease_id: lease.lease_id })
    assert lease.wait_lost(10), 'lease not reported lost'
    assert_instance_of OctoStore::LeaseNotCurrent, reasons.pop
    assert_equal 0, reasons.size
    late = nil
    lease.on_lost { |reason| late = reason }
    assert_instance_of OctoStore::LeaseNotCurrent, late
  end

  def test_observe_reports_nobody_leading_once_when_a_lock_delay_ends
    # The server's answers in turn: alice leads; her lease ended and a lock-delay keeps
    # the lock (held, no holder); the delay ends (free); bob leads.
    alice = { name: 'leader', status: 'held', revision: 1, holder_id: 'tok_a/alice', fencing_token: 5,
              metadata: 'alice:8080' }
    states = [
      OctoStore::LockState.new(**alice),
      OctoStore::LockState.new(name: 'leader', status: 'held', revision: 2, holder_id: nil, holders: [],
                               available_at: Time.now.utc),
      OctoStore::LockState.new(name: 'leader', status: 'free', revision: 3),
      OctoStore::LockState.new(**alice, revision: 4, holder_id: 'tok_b/bob', fencing_token: 9, metadata: 'bob:8080')
    ]
    scripted = @client
    scripted.define_singleton_method(:status) { |_name| states.shift }
    scripted.define_singleton_method(:watch) { |_name, **_opts| states.shift }
    seen = []
    scripted.election('leader').observe(timeout: 10, poll_wait: 1) do |leader|
      seen << leader&.value
      break if leader&.value == 'bob:8080'
    end
    assert_equal ['alice:8080', nil, 'bob:8080'], seen
    assert_empty states, 'every state was read'
  end

  def test_with_lock_keeps_the_users_exception_when_the_release_fails_too
    failing = @client
    def failing.release_lease(*)
      raise OctoStore::TransportError, 'http://127.0.0.1:1: connection refused'
    end
    err = assert_raises(ArgumentError) do
      _, stderr = capture_io { failing.with_lock('report', ttl: 30) { raise ArgumentError, 'mine' } }
      flunk "no error; stderr #{stderr}"
    end
    assert_equal 'mine', err.message
    assert_instance_of OctoStore::TransportError, err.release_error
  end

  def test_defaults_owner_and_empty_name
    assert_match(/\A.+-#{Process.pid}-[0-9a-f]{8}\z/, @client.owner)
    refute_equal @client.owner, @other.owner
    lease = @client.try_lock('defaults')
    assert_equal 15, lease.ttl
    lease.release
    assert_equal 15, @client.election('e').ttl
    assert_raises(OctoStore::InvalidLockName) { @client.try_lock('') }
  end

  def test_release_on_shutdown_releases_held_locks_on_sigterm
    server = Conformance::Servers.for({})
    token = server.admin_post('/admin/accounts', { 'name' => "shutdown-#{SecureRandom.hex(6)}" })['token']
    script = <<~RUBY
      require 'octostore'
      client = OctoStore::Client.new(ARGV[0], token: ARGV[1]).release_on_shutdown
      client.lock('svc', ttl: 60, wait: 5)
      $stdout.puts 'held'
      $stdout.flush
      sleep 30
      exit 3
    RUBY
    reader, writer = IO.pipe
    pid = Process.spawn(RbConfig.ruby, '-I', File.expand_path('../lib', __dir__), '-e', script, server.base_url, token,
                        out: writer)
    writer.close
    begin
      assert_equal "held\n", reader.gets
      watcher = OctoStore::Client.new(server.base_url, token: token)
      assert_equal 'held', watcher.status('svc').status
      Process.kill('TERM', pid)
      _, status = Process.waitpid2(pid)
      pid = nil
      assert status.signaled? && status.termsig == Signal.list['TERM'], "exit #{status.inspect}"
      assert_equal 'free', watcher.status('svc').status
    ensure
      reader.close
      if pid
        Process.kill('KILL', pid)
        Process.waitpid(pid)
      end
    end
  end

  def test_problem_errors_carry_code_status_and_request_id
    err = assert_raises(OctoStore::InvalidLockName) { @client.status('bad name') }
    assert_equal ['invalid_lock_name', 400], [err.code, err.status]
    refute_empty err.request_id
  end
end

Minitest.after_run { Conformance::Servers.stop_all }
