# frozen_string_literal: true

module OctoStore
  # A held lock. Unless created with auto_renew: false it renews itself in a background
  # thread at the server's renew_after_ms (a third of the TTL when the server sends none).
  #
  # A lease is not a guarantee: a process can stall past its TTL and still believe it
  # holds the lock. Send #fencing_token with every write to the resource you protect and
  # have the resource refuse tokens smaller than the largest it has seen. #lost? turns
  # true when the lease ended without a release (a renewal was refused, or failed until
  # the lease ran out); stop working on the resource then. #on_lost registers a callback.
  #
  # A lease taken through a Session (#session) has no TTL and no renewer of its own: the
  # session's keep-alive keeps it, and it is lost when the session ends (lost, closed or
  # orphaned), with the session's reason.
  class Lease
    # Errors after which a renewal is retried until the lease's own expiry.
    TRANSIENT = [TransportError, Unavailable, RateLimited, ServerError, ProtocolError].freeze

    attr_reader :name, :ttl, :lease_id, :fencing_token, :metadata, :lost_reason, :session

    # @api private: leases come from Client#try_lock, #lock, Semaphore, Session and
    # Election#campaign.
    def initialize(client, name, ttl, result, metadata:, granted:, auto_renew:, session: nil)
      @client = client
      @session = session
      @name = name
      @ttl = ttl
      @metadata = metadata
      @lease_id = result.lease_id.to_s
      @fencing_token = Integer(result.fencing_token)
      @mutex = Mutex.new
      @expires_at = result.expires_at
      @renew_after_ms = result.renew_after_ms
      # The lease ends, by this process's clock, when the server said at the grant: the
      # time left is three times renew_after_ms (the server's hint is a third of it).
      @deadline = granted + remaining(ttl, @renew_after_ms)
      @closed = false
      @stop = Event.new
      @lost = Event.new
      @lost_reason = nil
      @on_lost = []
      @thread = auto_renew && session.nil? ? Thread.new { renew_loop } : nil
      @thread.name = "octostore-renew-#{name}" if @thread
    end

    # When the lease ends unless renewed, as the server last reported.
    # @return [Time]
    def expires_at
      @mutex.synchronize { @expires_at }
    end

    # The server's latest hint for the next renewal, in milliseconds.
    def renew_after_ms
      @mutex.synchronize { @renew_after_ms }
    end

    # Whether the lease was lost (it ended without #release).
    def lost?
      @lost.set?
    end

    # Waits up to timeout seconds (nil: for ever) for the lease to be lost; returns #lost?.
    def wait_lost(timeout = nil)
      @lost.wait(timeout)
    end

    # Registers a block called once, with the reason (an Error), when the lease is lost;
    # at once if it already is. It runs on the renewer thread: keep it short.
    def on_lost(&block)
      call_now = @mutex.synchronize do
        @on_lost << block unless @lost.set?
        @lost.set?
      end
      block.call(@lost_reason) if call_now
      self
    end

    # Renews now to ttl seconds (default the lease's TTL). Raises LeaseNotCurrent (and
    # marks the lease lost) when it has already ended.
    def renew(ttl = nil)
      renew_now(ttl || @ttl)
      self
    rescue LeaseNotCurrent => e
      mark_lost(e)
      raise
    end

    # Stops renewing and gives the lock back. Always asks the server: raises
    # LeaseNotCurrent when the lease had already ended (expired, released, or lost).
    def release
      stop_renewing
      @closed = true
      res = @client.release_lease(@name, @lease_id)
      @client.forget(self)
      @session&.forget(self)
      { lease_id: res.lease_id.to_s, fencing_token: res.fencing_token }
    end

    # End of use: stops renewing and releases the lease if it may still be held. Never
    # raises and returns at once when the lease was already lost or released.
    def close
      @stop.set
      @client.forget(self)
      @session&.forget(self)
      return nil if @closed || lost?

      @closed = true
      stop_renewing
      begin
        @client.release_lease(@name, @lease_id, timeout: [[left, 0.5].max, @client.timeout].min)
      rescue StandardError
        nil
      end
      nil
    end

    # #release, ignoring a lease that had already ended (#lost? tells).
    def release_quietly
      release
    rescue LeaseNotCurrent
      nil
    end

    # Stops the renewer thread without releasing (the lease then runs out on its own).
    # Waits for a renewal in flight at most until the lease's end.
    def stop_renewing
      @stop.set
      @thread.join([left, 0].max + 0.5) unless @thread.nil? || @thread == Thread.current
      nil
    end

    # @api private: the session this lease is bound to ended (reason: its loss, or a
    # SessionClosed); the lease is lost unless it was released first.
    def session_ended(reason)
      mark_lost(reason) unless @closed
    end

    # @api private: a renewal of the session moved this lease's end too.
    def session_renewed(expires_at, renew_after_ms)
      @mutex.synchronize do
        @expires_at = expires_at if expires_at && (@expires_at.nil? || expires_at > @expires_at)
        @renew_after_ms = renew_after_ms
      end
    end

    private

    # Seconds left until the lease's own end (through a session: the session's).
    def left
      return @session.seconds_left unless @session.nil?

      @mutex.synchronize { @deadline } - monotonic
    end

    def remaining(ttl, renew_after_ms)
      renew_after_ms.nil? ? ttl : [ttl, renew_after_ms * 3 / 1000.0].min
    end

    def renew_now(ttl, timeout: @client.timeout)
      sent = monotonic
      res = @client.renew_lease(@name, @lease_id, ttl, timeout: timeout)
      @mutex.synchronize do
        @expires_at = res.expires_at if res.expires_at && (@expires_at.nil? || res.expires_at > @expires_at)
        @renew_after_ms = res.renew_after_ms
        @deadline = [@deadline, sent + remaining(ttl, res.renew_after_ms)].max
      end
    end

    # One renewal bounded by what is left of the lease (Bounded.run). Returns :ok,
    # :expired, or raises the request's error.
    def renew_bounded
      budget = left
      Bounded.run(budget) { renew_now(@ttl, timeout: [budget, @client.timeout].min) }
    end

    def mark_lost(reason)
      callbacks = @mutex.synchronize do
        next [] if @lost.set?

        @lost_reason = reason
        @lost.set
        @on_lost.dup.tap { @on_lost.clear }
      end
      @stop.set
      callbacks.each { |cb| cb.call(reason) }
    end

    def renew_loop
      delay = renew_delay
      until @stop.wait(delay)
        begin
          if renew_bounded == :expired
            mark_lost(TransportError.new("lease on #{@name.inspect} ended without an answer from the server")) unless @stop.set?
            return
          end
          delay = renew_delay
        rescue *TRANSIENT => e
          remaining = left
          if remaining <= 0
            mark_lost(e) unless @stop.set?
            return
          end
          delay = [1.0, remaining / 2].min
        rescue Error => e
          mark_lost(e) unless @stop.set?
          return
        end
      end
    end

    def renew_delay
      ms = renew_after_ms
      return [ms / 1000.0, 0.05].max unless ms.nil?

      [@ttl / 3.0, 0.05].max
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
