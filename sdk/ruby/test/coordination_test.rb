# frozen_string_literal: true

# Sessions, semaphores, lock-delay and prefix watches: the helpers' promises beyond the
# shared scenarios, faults included, against a live octostore-lock from OCTOSTORE_BIN.
require 'minitest/autorun'
require 'securerandom'
require_relative 'conformance/runner'

class CoordinationTest < Minitest::Test
  def setup
    server = Conformance::Servers.for({})
    issued = server.admin_post('/admin/accounts', { 'name' => "coord-#{SecureRandom.hex(6)}" })
    @token = issued['token']
    @client = OctoStore::Client.new(server.base_url, token: @token)
    @other = OctoStore::Client.new(server.base_url,
                                   token: server.admin_post("/admin/accounts/#{issued['account_id']}/tokens", nil)['token'])
    @sessions_api = OctoStore::SessionsApi.new(@client.api_client)
  end

  def teardown
    @client.shutdown
    @other.shutdown
  end

  def test_session_deleted_behind_its_back_fires_the_loss_signal_on_it_and_its_leases
    session = @client.session(ttl: 1)
    lease = session.lock('job', wait: 0)
    reasons = Queue.new
    session.on_lost { |reason| reasons << reason }
    @sessions_api.delete_session(session.id)

    assert session.wait_lost(10), 'session not reported lost'
    assert_instance_of OctoStore::SessionNotFound, reasons.pop
    assert_equal 0, reasons.size
    assert lease.wait_lost(1), 'its lease not reported lost'
    assert_instance_of OctoStore::SessionLost, lease.lost_reason
    refute session.closed?
    err = assert_raises(OctoStore::SessionLost) { session.try_lock('job') }
    assert_equal ['session_not_found', 404], [err.code, err.status]
    refute session.close, 'close of a lost session reports a delete'
    assert_nil lease.close
  end

  def test_session_renewals_that_keep_failing_end_it_at_its_local_deadline
    session = @client.session(ttl: 1)
    lease = session.lock('job', wait: 0)
    def @client.renew_session(*)
      raise OctoStore::TransportError, 'http://127.0.0.1:1: connection refused'
    end
    started = monotonic
    assert session.wait_lost(10), 'session not reported lost'
    assert_operator monotonic - started, :<, 2, 'the loss fired after the session would have expired'
    assert_instance_of OctoStore::TransportError, session.lost_reason
    assert lease.lost?
  end

  def test_session_keeps_its_locks_past_its_ttl_and_close_releases_them
    session = @client.session(ttl: 1)
    lease = session.lock('job', wait: 0, lock_delay: 30)
    first = session.expires_at
    wait_for(5) { session.expires_at > first + 1 }
    assert_equal 'held', @other.status('job').status
    assert_nil @other.try_lock('job')
    assert session.close
    assert session.closed?
    refute session.lost?, 'closing is not a loss'
    assert lease.lost?, 'a lease of a closed session is gone'
    assert_equal 'free', @other.status('job').status, 'a closed session starts no lock-delay'
    err = assert_raises(OctoStore::SessionClosed) { session.try_lock('job') }
    assert_equal 'session_closed', err.code
    refute session.close, 'a second close deletes nothing'
  end

  def test_session_block_form_closes_and_returns_the_block_value
    held = nil
    value = @client.session(ttl: 5) do |s|
      held = s.try_lock('job')
      refute_nil held
      assert_nil @other.try_lock('job')
      :done
    end
    assert_equal :done, value
    assert_equal 'free', @other.status('job').status
    err = assert_raises(OctoStore::ApiError) { @sessions_api.get_session(held.session.id) }
    assert_equal 404, err.code
  end

  def test_session_block_form_raises_session_lost_when_the_session_was_lost
    err = assert_raises(OctoStore::SessionLost) do
      @client.session(ttl: 1) do |s|
        @sessions_api.delete_session(s.id)
        assert s.wait_lost(10), 'session not reported lost'
        :returned_normally
      end
    end
    assert_equal 'session_not_found', err.code
  end

  def test_session_block_form_keeps_the_users_exception
    id = nil
    assert_raises(ArgumentError) do
      @client.session(ttl: 5) do |s|
        id = s.id
        raise ArgumentError, 'mine'
      end
    end
    assert_raises(OctoStore::ApiError) { @sessions_api.get_session(id) }
  end

  def test_orphan_stops_the_keep_alive_and_leaves_the_session_to_expire
    session = @client.session(ttl: 1)
    lease = session.lock('job', wait: 0)
    session.orphan
    assert lease.lost?, 'nobody keeps an orphaned session\'s lease alive'
    refute session.lost?
    assert_equal session.id, @sessions_api.get_session(session.id).session_id
    wait_for(10) { @other.status('job').status == 'free' }
    refute session.close
  end

  def test_semaphore_admits_n_holders_and_refuses_another_n
    assert_raises(ArgumentError) { @client.semaphore('pool', 0) }
    assert_raises(ArgumentError) { @client.semaphore('pool', 65) }
    a = @client.semaphore('pool', 2).try_lock(ttl: 30)
    b = @other.semaphore('pool', 2).try_lock(ttl: 30)
    refute_nil a
    refute_nil b
    assert_operator b.fencing_token, :>, a.fencing_token
    third = OctoStore::Client.new(@client.base_urls, token: @token)
    held = third.semaphore('pool', 2).try_acquire(ttl: 30)
    assert_instance_of OctoStore::LockHeld, held
    state = @client.status('pool')
    assert_equal [2, 2], [state.max_holders, state.holder_count]
    assert_equal [a.fencing_token, b.fencing_token], state.holders.map(&:fencing_token)
    assert_raises(OctoStore::MaxHoldersMismatch) { third.semaphore('pool', 3).try_lock(ttl: 30) }
    b.release
    assert_equal :ran, third.semaphore('pool', 2).with_lock(ttl: 30, wait: 10) { :ran }
  end

  def test_session_semaphore_binds_its_leases_to_the_session
    session = @client.session(ttl: 5)
    lease = session.semaphore('pool', 3).try_lock
    assert_same session, lease.session
    assert_equal 3, @other.status('pool').max_holders
    assert session.close
    assert_equal 'free', @other.status('pool').status
  end

  def test_lock_delay_keeps_an_expired_lock_from_everyone_and_nobody_leads
    @client.try_lock('leader', ttl: 1, lock_delay: 3, auto_renew: false, metadata: 'me')
    state = wait_for(5) { @other.status('leader').then { |s| s if s.delayed? } }
    assert_nil state.holder_id
    assert_kind_of Time, state.available_at
    assert_nil @other.election('leader').leader, 'a lock-delay is not a leader'
    held = @other.try_acquire('leader', ttl: 30)
    assert_instance_of OctoStore::LockHeld, held
    assert held.delayed?
    assert_nil held.holder_id
    assert_kind_of Time, held.available_at
    assert_match(/lock-delay/, held.message)
  end

  def test_prefix_watch_enumerator_yields_changes_after_the_index
    index = @other.prefix_index('jobs.')
    answers = @other.watch_prefix('jobs.', index, timeout: 10)
    assert_kind_of Enumerator, answers
    lease = @client.try_lock('jobs.a', ttl: 30)
    @client.try_lock('elsewhere', ttl: 30)
    first = answers.first
    assert_equal [['jobs.a', 'held']], first.changes.map { |c| [c.name, c.status] }
    assert first.complete?
    assert_operator first.index, :>, index
    lease.release
    second = @other.watch_prefix('jobs.', first.index, timeout: 10).first
    assert_equal [['jobs.a', 'free']], second.changes.map { |c| [c.name, c.status] }
    assert_nil @other.watch_prefix('jobs.', second.index, timeout: 1).first, 'no change: the timeout ends it'
  end

  def test_prefix_watch_waits_out_rate_limits
    calls = 0
    watcher = @other
    real = watcher.method(:request)
    watcher.define_singleton_method(:request) do |timeout, kind = :locks, &blk|
      calls += 1
      if calls == 1
        raise OctoStore::TooManyWaiters.new(code: 'too_many_waiters', status: 429, retry_after: 0.1)
      end

      real.call(timeout, kind, &blk)
    end
    @client.try_lock('jobs.b', ttl: 30)
    got = watcher.watch_prefix('jobs.', 0, timeout: 10).first
    assert_equal ['jobs.b'], got.changes.map(&:name)
    assert_operator calls, :>=, 2
  end

  private

  # Polls the block every 50 ms until it returns a truthy value (returned) or seconds pass.
  def wait_for(seconds)
    deadline = monotonic + seconds
    loop do
      got = yield
      return got if got

      flunk "condition not met within #{seconds}s" if monotonic > deadline
      sleep 0.05
    end
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end
end

Minitest.after_run { Conformance::Servers.stop_all }
