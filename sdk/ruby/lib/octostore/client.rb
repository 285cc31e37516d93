# frozen_string_literal: true

require 'securerandom'
require 'socket'
require 'uri'

module OctoStore
  # An OctoStore client for one token. Thread-safe.
  #
  # Every client is its own holder: it sends #owner with every acquire, by default
  # "<host>-<pid>-<8 random hex digits>", so two clients sharing one token (two processes,
  # two threads) exclude each other. Pass owner: to choose the name (it then makes retries
  # from a restarted process idempotent); read #owner to log it.
  #
  # base_url may be one URL or a list: a request that meets a transport error or a 503
  # moves on to the next URL. timeout (default 10 s) bounds every ordinary request;
  # long-polls (blocking lock, watch) get their wait plus a margin, and a lease's
  # renewals are also bounded by what is left of the lease.
  #
  # Every request goes through the generated client (OctoStore::LocksApi); problem answers
  # become typed errors (ProblemError and subclasses).
  class Client
    # Longest wait the server accepts for one blocking request, in seconds.
    MAX_WAIT_SECONDS = 60
    # Extra time a long-poll may take on top of its wait.
    POLL_SLACK_SECONDS = 15
    # Back-off after an early `held` when the server sends no hint.
    DEFAULT_RETRY_SECONDS = 0.25
    # Default TTLs of locks and elections, and the default request timeout, in seconds.
    DEFAULT_TTL = 15
    DEFAULT_ELECTION_TTL = 15
    DEFAULT_SESSION_TTL = 15
    DEFAULT_TIMEOUT = 10

    # @api private: what one acquire asks for. ttl and auto_renew do not apply through a
    # session; max_holders makes it a semaphore's.
    Terms = Struct.new(:ttl, :metadata, :auto_renew, :lock_delay, :max_holders, :session, keyword_init: true)

    attr_reader :owner, :base_urls, :timeout

    # A fresh default owner: "<host>-<pid>-<8 random hex digits>".
    def self.default_owner
      "#{Socket.gethostname}-#{Process.pid}-#{SecureRandom.hex(4)}"
    end

    # @param base_url [String, Array<String>] e.g. "http://127.0.0.1:3000", or several
    # @param token [String] the bearer token
    # @param owner [String, nil] this client's holder name (default: a unique one)
    # @param timeout [Numeric] seconds for ordinary requests
    # @param ssl_ca_cert [String, nil] path of a PEM file of the CAs to trust for https
    #   (a server whose certificate comes from a private CA); default: the system's
    def initialize(base_url, token:, owner: nil, timeout: DEFAULT_TIMEOUT, ssl_ca_cert: nil)
      @base_urls = Array(base_url).map(&:to_s)
      raise ArgumentError, 'at least one base URL' if @base_urls.empty?

      @token = token
      @owner = owner.nil? || owner.to_s.empty? ? self.class.default_owner : owner.to_s
      @timeout = timeout
      @ssl_ca_cert = ssl_ca_cert
      @apis = {}
      @apis_mutex = Mutex.new
      @leases = []
      @elections = []
      @sessions = []
    end

    # The generated locks API (OctoStore::LocksApi) on the first base URL, for calls the
    # helpers do not cover.
    def locks
      api(@base_urls.first, @timeout)
    end

    # The generated ApiClient behind #locks.
    def api_client
      locks.api_client
    end

    # Takes the lock if it is free (one attempt) and returns the Lease, which renews itself
    # in a background thread unless auto_renew is false; returns nil when someone else
    # holds it (#try_acquire says who). Taking a lock this holder already holds returns
    # the same lease and token.
    #
    # lock_delay: (seconds, 0..60; Chubby's lock-delay) keeps the lock from everyone for
    # that long after this lease *expires* (never after a release), so a holder that lost
    # it without noticing has time to stop before anyone else starts.
    # @return [Lease, nil]
    def try_lock(name, ttl: DEFAULT_TTL, metadata: nil, auto_renew: true, lock_delay: nil)
      got = try_acquire(name, ttl: ttl, metadata: metadata, auto_renew: auto_renew, lock_delay: lock_delay)
      got.is_a?(Lease) ? got : nil
    end

    # One acquire attempt: the Lease, or a LockHeld value (not raised) naming the holder,
    # when its lease ends, and when trying again is worthwhile (during a lock-delay: no
    # holder, and LockHeld#available_at).
    # @return [Lease, LockHeld]
    def try_acquire(name, ttl: DEFAULT_TTL, metadata: nil, auto_renew: true, lock_delay: nil)
      acquire_with(name, 0, Terms.new(ttl: ttl, metadata: metadata, auto_renew: auto_renew, lock_delay: lock_delay))
    end

    # Waits in line for the lock, at most wait seconds in all (nil: for ever; 0: one
    # attempt), and returns the Lease. Raises LockTimeout when the wait ends first. A
    # lock-delay is waited out like a holder.
    # @return [Lease]
    def lock(name, ttl: DEFAULT_TTL, wait: nil, metadata: nil, auto_renew: true, lock_delay: nil)
      lock_with(name, wait, Terms.new(ttl: ttl, metadata: metadata, auto_renew: auto_renew, lock_delay: lock_delay))
    end

    # Runs the block while holding the lock (waiting for it as #lock does) and releases it
    # afterwards. Returns the block's value.
    #
    # - An exception from the block always comes out as it is. If the release on the way
    #   out fails too, that error is attached to it (exception.release_error) and logged
    #   with warn, never raised in its place.
    # - If the lease was lost while the block ran and the block returned normally, raises
    #   LockLost (its #cause is the reason), so a loss is never swallowed.
    def with_lock(name, ttl: DEFAULT_TTL, wait: nil, metadata: nil, lock_delay: nil, &block)
      with_lease(name, lock(name, ttl: ttl, wait: wait, metadata: metadata, lock_delay: lock_delay), &block)
    end

    # A Semaphore on the lock name that up to n (1..64) distinct holders hold at once,
    # each with a lease and fencing token of its own; every holder of the name must ask for
    # the same n (else MaxHoldersMismatch).
    #
    #   pool = client.semaphore("renderers", 3)
    #   pool.with_lock(wait: 30) { |lease| render(fencing_token: lease.fencing_token) }
    # @return [Semaphore]
    def semaphore(name, n)
      Semaphore.new(self, name, n)
    end

    # Creates a Session of ttl seconds on the server and keeps it alive in a background
    # thread. With a block, yields it, closes it afterwards and returns the block's value:
    # an exception from the block comes out as it is; if the session was lost while the
    # block ran and the block returned normally, raises SessionLost.
    # @return [Session, Object]
    def session(ttl: DEFAULT_SESSION_TTL)
      sent = monotonic
      res = request(@timeout, :sessions) { |api| api.create_session({ ttl_seconds: ttl }) }
      s = track(@sessions, Session.new(self, ttl, res, sent: sent))
      return s unless block_given?

      begin
        value = yield s
      rescue Exception # rubocop:disable Lint/RescueException -- re-raised as it is
        s.close
        raise
      end
      raise SessionLost.new(s.id, s.lost_reason) if s.lost?

      s.close
      value
    end

    # The lock's current state.
    # @return [LockState]
    def status(name)
      LockState.from(request(@timeout) { |api| api.get_lock(check_name(name)) })
    end

    # Waits (at most wait seconds, up to 60) until the lock's revision exceeds index and
    # returns the state then; after the wait, the unchanged state.
    # @return [LockState]
    def watch(name, index:, wait: 30)
      LockState.from(request(wait + POLL_SLACK_SECONDS) { |api| api.get_lock(check_name(name), index: index, wait_seconds: wait) })
    end

    # The account's active locks, by name.
    # @return [Array<LockState>]
    def list
      request(@timeout, &:list_locks).locks.map { |s| LockState.from(s) }
    end

    # The index to watch a prefix from (#watch_prefix): every change of the locks whose
    # names start with prefix so far is at or below it.
    # @return [Integer]
    def prefix_index(prefix)
      res = request(@timeout) { |api| api.list_locks(prefix: prefix.to_s, limit: 1) }
      raise ProtocolError, 'prefix list without index' if res.index.nil?

      Integer(res.index)
    end

    # Follows every change of the locks under prefix after index, in order, yielding a
    # PrefixChanges for each answer that carries changes, until the block breaks or timeout
    # seconds pass (nil: for ever; then it returns nil). Without a block, returns an
    # Enumerator.
    #
    # Index 0 starts with every lock the server knows under the prefix; #prefix_index gives
    # the current one, to see only what changes from now on. Coming back with each answer's
    # index, it misses no change; a lock that changed several times between two answers is
    # reported once, as it is now. 429 and 503 answers are waited out.
    #
    #   client.watch_prefix("jobs.", client.prefix_index("jobs.")) do |answer|
    #     answer.changes.each { |lock| puts "#{lock.name} is #{lock.status}" }
    #   end
    def watch_prefix(prefix, index, timeout: nil, poll_wait: MAX_WAIT_SECONDS)
      return enum_for(:watch_prefix, prefix, index, timeout: timeout, poll_wait: poll_wait) unless block_given?

      prefix = prefix.to_s
      index = Integer(index)
      deadline = timeout && (monotonic + timeout)
      loop do
        remaining = deadline && (deadline - monotonic)
        return nil if remaining && remaining <= 0

        wait = remaining ? remaining.floor.clamp(1, poll_wait) : poll_wait
        begin
          res = request(wait + POLL_SLACK_SECONDS) do |api|
            api.list_locks(prefix: prefix, index: index, wait_seconds: wait)
          end
        rescue RateLimited, Unavailable => e
          pause = [e.retry_after || DEFAULT_RETRY_SECONDS, 0.1].max
          sleep(remaining ? [pause, remaining].min : pause)
          next
        end
        raise ProtocolError, 'prefix watch answer without index' if res.index.nil?

        answer = PrefixChanges.new(index: Integer(res.index), changes: Array(res.changes).map { |c| LockState.from(c) },
                                   complete: res.complete != false)
        yield answer if !answer.changes.empty? || !answer.complete
        index = [index, answer.index].max
      end
    end

    # An Election on the lock name; the leader holds it with a ttl-second lease.
    # @return [Election]
    def election(name, ttl: DEFAULT_ELECTION_TTL)
      Election.new(self, name, ttl: ttl).tap { |e| track(@elections, e) }
    end

    # Opt-in shutdown hook: on SIGTERM or SIGINT, releases every lease this client still
    # holds and resigns its elections, then runs the previous handler (or exits as the
    # signal would). Call once, from the main thread.
    def release_on_shutdown(signals: %w[TERM INT])
      signals.each do |sig|
        previous = nil
        previous = Signal.trap(sig) do
          # A trap handler cannot take mutexes: do the work on a thread and wait for it.
          Thread.new { shutdown }.join(@timeout + 1)
          if previous.respond_to?(:call)
            previous.call
          elsif previous.nil? || %w[DEFAULT SYSTEM_DEFAULT EXIT].include?(previous.to_s)
            Signal.trap(sig, 'DEFAULT')
            Process.kill(sig, Process.pid)
          end
        end
      end
      self
    end

    # Releases every lease still held and resigns every election (what the shutdown hook
    # does), ignoring errors.
    def shutdown
      @apis_mutex.synchronize { @elections.dup }.each do |e|
        e.resign
      rescue StandardError
        nil
      end
      @apis_mutex.synchronize { @leases.dup }.each(&:close)
      @apis_mutex.synchronize { @sessions.dup }.each(&:close)
      nil
    end

    # @api private: one acquire attempt (wait seconds in line) with terms.
    # @return [Lease, LockHeld]
    def acquire_with(name, wait, terms)
      name = check_name(name)
      session = terms.session
      body = { owner: @owner }
      if session
        session.check_open!
        body[:session_id] = session.id
      else
        body[:ttl_seconds] = terms.ttl
      end
      body[:wait_seconds] = wait if wait.positive?
      body[:metadata] = terms.metadata unless terms.metadata.nil?
      body[:lock_delay_seconds] = terms.lock_delay if terms.lock_delay&.positive?
      body[:max_holders] = terms.max_holders unless terms.max_holders.nil?
      begin
        res = request(wait.positive? ? wait + POLL_SLACK_SECONDS : @timeout) { |api| api.acquire_lock(name, body) }
      rescue SessionNotFound => e
        raise unless session

        # The server no longer knows the session: it is lost now, not when its next
        # renewal finds out, and so is every lease bound to it.
        session.forgotten(e)
        raise SessionLost.new(session.id, e)
      end
      case res.status
      when 'acquired'
        # The lease's deadline counts from the answer (the grant), not from when a
        # blocking request was sent.
        ttl = session ? session.ttl : terms.ttl
        lease = Lease.new(self, name, ttl, res, metadata: terms.metadata, granted: monotonic,
                                                auto_renew: terms.auto_renew != false, session: session)
        session&.adopt(lease)
        track(@leases, lease)
      when 'held'
        LockHeld.new(name, res.holder_id, res.expires_at, res.retry_after_ms, available_at: res.available_at)
      else
        raise ProtocolError, "unknown acquire status #{res.status.inspect}"
      end
    end

    # @api private: #lock with terms.
    # @return [Lease]
    def lock_with(name, wait, terms)
      deadline = wait && (monotonic + wait)
      loop do
        got = acquire_with(name, wait_chunk(deadline && (deadline - monotonic)), terms)
        return got if got.is_a?(Lease)

        left = deadline && (deadline - monotonic)
        raise LockTimeout.new(name, wait) if left && left <= 0

        delay = retry_delay(got.retry_after_ms)
        sleep(left ? [delay, left].min : delay)
      end
    end

    # @api private: the block of #with_lock around a lease just taken.
    def with_lease(name, lease)
      begin
        value = yield lease
      rescue Exception => e # rubocop:disable Lint/RescueException -- re-raised as it is
        begin
          lease.release unless lease.lost?
        rescue Error => re
          ReleaseError.attach(e, re)
        end
        lease.close
        raise
      end
      lease.stop_renewing
      raise LockLost.new(name, lease.lost_reason) if lease.lost?

      begin
        lease.release
      rescue LeaseNotCurrent => e
        raise LockLost.new(name, e)
      end
      value
    end

    # @api private
    def renew_session(id, timeout: @timeout)
      request(timeout, :sessions) { |api| api.renew_session(id) }
    end

    # @api private
    def delete_session(id, timeout: @timeout)
      request(timeout, :sessions) { |api| api.delete_session(id) }
      nil
    end

    # @api private
    def renew_lease(name, lease_id, ttl, timeout: @timeout)
      request(timeout) { |api| api.renew_lock(name, { lease_id: lease_id, ttl_seconds: ttl }) }
    end

    # @api private
    def release_lease(name, lease_id, timeout: @timeout)
      request(timeout) { |api| api.release_lock(name, { lease_id: lease_id }) }
    end

    # @api private
    def forget(item)
      @apis_mutex.synchronize { @leases.delete(item) || @sessions.delete(item) }
    end

    private

    def track(list, item)
      @apis_mutex.synchronize { list << item }
      item
    end

    def check_name(name)
      name = name.to_s
      if name.empty?
        raise InvalidLockName.new(code: 'invalid_lock_name', status: 400,
                                  detail: 'a lock name must not be empty')
      end
      name
    end

    # Runs the block with a LocksApi for each base URL in turn until one answers: a
    # transport error or a 503 moves on to the next URL; the last error is raised.
    def request(timeout, kind = :locks)
      last = nil
      @base_urls.each do |url|
        return Errors.translate(url) { yield api(url, timeout, kind) }
      rescue TransportError, Unavailable => e
        last = e
      end
      raise last
    end

    API_CLASSES = { locks: OctoStore::LocksApi, sessions: OctoStore::SessionsApi }.freeze
    private_constant :API_CLASSES

    def api(url, timeout, kind = :locks)
      timeout = timeout.to_f.round(3)
      @apis_mutex.synchronize do
        @apis.shift if @apis.size > 64
        @apis[[url, timeout, kind]] ||= API_CLASSES.fetch(kind).new(OctoStore::ApiClient.new(configuration(url, timeout)))
      end
    end

    def configuration(base_url, timeout)
      uri = URI.parse(base_url)
      config = OctoStore::Configuration.new
      config.scheme = uri.scheme
      config.host = uri.port == uri.default_port ? uri.host : "#{uri.host}:#{uri.port}"
      config.base_path = uri.path.to_s.chomp('/')
      config.access_token = @token
      config.timeout = timeout
      config.ssl_ca_cert = @ssl_ca_cert unless @ssl_ca_cert.nil?
      # The server is the authority on names, TTLs and sizes.
      config.client_side_validation = false
      config
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
