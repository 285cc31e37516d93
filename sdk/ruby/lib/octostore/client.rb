# frozen_string_literal: true

require 'uri'

module OctoStore
  # An OctoStore client for one token (one holder). Thread-safe.
  #
  # owner names this process among others that share the token (a host or pod name): each
  # owner is a distinct holder. timeout bounds ordinary requests in seconds; long-polls
  # (blocking lock, watch) get their wait plus a margin.
  #
  # Every request goes through the generated client (#api_client, #locks); the helpers
  # send request bodies as plain hashes and leave every constraint to the server, whose
  # problem answers become typed errors (ProblemError and subclasses).
  class Client
    # Longest wait the server accepts for one blocking request, in seconds.
    MAX_WAIT_SECONDS = 60
    # Extra time a long-poll may take on top of its wait.
    POLL_SLACK_SECONDS = 15
    # Back-off after an early `held` when the server sends no hint (a server without
    # blocking acquire).
    DEFAULT_RETRY_SECONDS = 0.25

    attr_reader :owner, :api_client

    # @param base_url [String] e.g. "http://127.0.0.1:3000"
    # @param token [String] the bearer token
    # @param owner [String, nil] this process's name among holders sharing the token
    # @param timeout [Numeric] seconds for ordinary requests
    def initialize(base_url, token:, owner: nil, timeout: 10)
      @owner = owner
      @api_client = OctoStore::ApiClient.new(configuration(base_url, token, timeout))
      @poll_client = OctoStore::ApiClient.new(configuration(base_url, token, MAX_WAIT_SECONDS + POLL_SLACK_SECONDS))
      @locks = OctoStore::LocksApi.new(@api_client)
      @poll_locks = OctoStore::LocksApi.new(@poll_client)
    end

    # The generated locks API (OctoStore::LocksApi), for calls the helpers do not cover.
    attr_reader :locks

    # Takes the lock if it is free (one attempt) and returns the Lease, which renews itself
    # in a background thread unless auto_renew is false. Raises LockHeld when someone else
    # has it. Taking a lock this holder already holds returns the same lease and token.
    # @return [Lease]
    def try_lock(name, ttl: 30, metadata: nil, auto_renew: true)
      got = acquire(name, ttl, 0, metadata, auto_renew)
      raise got if got.is_a?(LockHeld)

      got
    end

    # Waits in line for the lock, at most wait seconds in all (nil: for ever; 0: one
    # attempt), and returns the Lease. Raises LockTimeout when the wait ends first.
    # @return [Lease]
    def lock(name, ttl: 30, wait: nil, metadata: nil, auto_renew: true)
      deadline = wait && (monotonic + wait)
      loop do
        got = acquire(name, ttl, wait_chunk(deadline && (deadline - monotonic)), metadata, auto_renew)
        return got if got.is_a?(Lease)

        left = deadline && (deadline - monotonic)
        raise LockTimeout.new(name, wait) if left && left <= 0

        # Held before the wait was over: a server without blocking acquire, or a wait
        # shorter than a second. Back off as the server suggests and ask again.
        delay = retry_delay(got.retry_after_ms)
        sleep(left ? [delay, left].min : delay)
      end
    end

    # Runs the block while holding the lock and releases it afterwards, whatever happens.
    # The lease renews itself meanwhile; check lease.lost? (or register lease.on_lost)
    # before acting on the protected resource, and send lease.fencing_token with every
    # write. Waits for the lock as #lock does. Returns the block's value.
    def with_lock(name, ttl: 30, wait: nil, metadata: nil)
      lease = lock(name, ttl: ttl, wait: wait, metadata: metadata)
      begin
        yield lease
      ensure
        lease.release_quietly
      end
    end

    # The lock's current state.
    # @return [LockState]
    def status(name)
      LockState.from(Errors.translate { @locks.get_lock(name) })
    end

    # Waits (at most wait seconds, up to 60) until the lock's revision exceeds index and
    # returns the state then; after the wait, the unchanged state. Pass the last revision
    # you saw and no change is ever missed.
    # @return [LockState]
    def watch(name, index:, wait: 30)
      LockState.from(Errors.translate { @poll_locks.get_lock(name, index: index, wait_seconds: wait) })
    end

    # The account's active locks, by name.
    # @return [Array<LockState>]
    def list
      Errors.translate { @locks.list_locks }.locks.map { |s| LockState.from(s) }
    end

    # An Election on the lock name; the leader holds it with a ttl-second lease.
    # @return [Election]
    def election(name, ttl: 15)
      Election.new(self, name, ttl: ttl)
    end

    # @api private
    def renew_lease(name, lease_id, ttl)
      Errors.translate { @locks.renew_lock(name, { lease_id: lease_id, ttl_seconds: ttl }) }
    end

    # @api private
    def release_lease(name, lease_id)
      Errors.translate { @locks.release_lock(name, { lease_id: lease_id }) }
    end

    private

    def configuration(base_url, token, timeout)
      uri = URI.parse(base_url)
      config = OctoStore::Configuration.new
      config.scheme = uri.scheme
      config.host = uri.port == uri.default_port ? uri.host : "#{uri.host}:#{uri.port}"
      config.base_path = uri.path.to_s.chomp('/')
      config.access_token = token
      config.timeout = timeout
      # The server is the authority on names, TTLs and sizes; its answer carries the
      # documented code and a request id.
      config.client_side_validation = false
      config
    end

    def acquire(name, ttl, wait, metadata, auto_renew)
      body = { ttl_seconds: ttl }
      body[:owner] = @owner unless @owner.nil?
      body[:wait_seconds] = wait if wait.positive?
      body[:metadata] = metadata unless metadata.nil?
      sent = monotonic
      api = wait.positive? ? @poll_locks : @locks
      res = Errors.translate { api.acquire_lock(name, body) }
      case res.status
      when 'acquired'
        Lease.new(self, name, ttl, res, metadata: metadata, sent: sent, auto_renew: auto_renew)
      when 'held'
        LockHeld.new(name, res.holder_id, res.expires_at, res.retry_after_ms)
      else
        raise ProtocolError, "unknown acquire status #{res.status.inspect}"
      end
    end

    def wait_chunk(remaining)
      return MAX_WAIT_SECONDS if remaining.nil?

      remaining.floor.clamp(0, MAX_WAIT_SECONDS)
    end

    def retry_delay(retry_after_ms)
      return DEFAULT_RETRY_SECONDS if retry_after_ms.nil?

      (retry_after_ms / 1000.0).clamp(0.05, 1.0)
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
