# frozen_string_literal: true

module OctoStore
  # A lease on this process's liveness that many locks share, modelled on etcd's
  # concurrency.Session. Client#session creates it on the server and a background thread
  # renews it at the server's renew_after_ms; locks taken through it (#lock, #try_lock,
  # #with_lock, #semaphore) send its id and no TTL, are not renewed on their own, and end
  # exactly when the session ends (ephemeral locks).
  #
  #   client.session(ttl: 10) do |session|
  #     session.with_lock("leader") { |lease| serve(fencing_token: lease.fencing_token) }
  #   end
  #
  # #close deletes the session, which releases every lock bound to it at once (no
  # lock-delay). A process that dies stops renewing: the server ends the session, and its
  # locks, one TTL later, and their lock-delays apply then; #orphan does the same on
  # purpose.
  #
  # #lost? turns true (and #on_lost callbacks run, #wait_lost returns) when the session
  # ended without #close: the server no longer knows it, or no renewal succeeded before it
  # would have expired. Every lock bound to it is gone then, and those leases report the
  # loss too. When an acquire through the session is the first to hear that the server
  # forgot it, the session is lost at once and that acquire raises SessionLost (code
  # session_not_found, status 404; a blocking #lock does not retry it), as every later
  # acquire through it does. Closing or orphaning is not a loss. As with any lease, a stalled process
  # learns of the loss only when it next runs: pass the locks' fencing tokens to what they
  # protect.
  class Session
    # Errors after which a renewal is retried until the session's own expiry.
    TRANSIENT = Lease::TRANSIENT

    attr_reader :id, :ttl, :lost_reason

    # @api private: sessions come from Client#session.
    def initialize(client, ttl, result, sent:)
      @client = client
      @ttl = ttl
      @id = result.session_id.to_s
      @mutex = Mutex.new
      @expires_at = result.expires_at
      @renew_after_ms = result.renew_after_ms
      # The session ends, by this process's clock, no later than the server said when it
      # answered: three times renew_after_ms (a third of the TTL) after the request left.
      @deadline = sent + remaining(result.renew_after_ms)
      @state = :open
      @leases = []
      @on_lost = []
      @lost_reason = nil
      @stop = Event.new
      @lost = Event.new
      @thread = Thread.new { keep_alive }
      @thread.name = "octostore-session-#{@id[-8, 8]}"
    end

    alias session_id id

    # When the server ends the session unless it is renewed, as of the latest renewal.
    # @return [Time]
    def expires_at
      @mutex.synchronize { @expires_at }
    end

    # The server's latest hint for the next renewal, in milliseconds.
    def renew_after_ms
      @mutex.synchronize { @renew_after_ms }
    end

    # Whether the session was lost (it ended without #close or #orphan).
    def lost?
      @lost.set?
    end

    # Whether #close or #orphan ended it.
    def closed?
      @mutex.synchronize { %i[closed orphaned].include?(@state) }
    end

    # Waits up to timeout seconds (nil: for ever) for the session to be lost; returns #lost?.
    def wait_lost(timeout = nil)
      @lost.wait(timeout)
    end

    # Registers a block called once, with the reason (an Error), when the session is lost;
    # at once if it already is. It runs on the keep-alive thread (or on the thread whose
    # acquire heard of the loss): keep it short.
    def on_lost(&block)
      call_now = @mutex.synchronize do
        @on_lost << block unless @lost.set?
        @lost.set?
      end
      block.call(@lost_reason) if call_now
      self
    end

    # Takes the lock through the session if it is free (one attempt): the Lease, or nil
    # when someone else holds it (#try_acquire says who).
    # @return [Lease, nil]
    def try_lock(name, metadata: nil, lock_delay: nil)
      got = try_acquire(name, metadata: metadata, lock_delay: lock_delay)
      got.is_a?(Lease) ? got : nil
    end

    # One acquire attempt through the session: the Lease or a LockHeld value.
    # lock_delay: seconds (0..60) nobody gets the lock after the session *expires*.
    # @return [Lease, LockHeld]
    def try_acquire(name, metadata: nil, lock_delay: nil)
      @client.acquire_with(name, 0, terms(metadata, lock_delay))
    end

    # Waits in line for the lock, at most wait seconds (nil: for ever), as Client#lock
    # does, and returns the Lease bound to the session. Raises LockTimeout.
    # @return [Lease]
    def lock(name, wait: nil, metadata: nil, lock_delay: nil)
      @client.lock_with(name, wait, terms(metadata, lock_delay))
    end

    # Client#with_lock through the session.
    def with_lock(name, wait: nil, metadata: nil, lock_delay: nil, &block)
      @client.with_lease(name, lock(name, wait: wait, metadata: metadata, lock_delay: lock_delay), &block)
    end

    # A Semaphore of n holders on name whose leases are bound to the session.
    # @return [Semaphore]
    def semaphore(name, n)
      Semaphore.new(@client, name, n, session: self)
    end

    # Stops the keep-alive and deletes the session on the server, which releases every lock
    # bound to it at once (no lock-delay). Returns true when the server deleted it (or no
    # longer had it), false when the session was already lost, closed or orphaned, or the
    # delete failed (the server then ends it one TTL after its last renewal). Never raises.
    def close
      return false unless finish(:closed)

      begin
        @client.delete_session(@id)
      rescue SessionNotFound
        nil
      rescue StandardError
        return false
      ensure
        end_leases(SessionClosed.new(@id))
      end
      true
    end

    # Stops the keep-alive without deleting the session, as etcd's Session.Orphan does: the
    # server ends the session, and every lock bound to it, one TTL after its last renewal,
    # and their lock-delays apply then. It is what a process that dies does. The leases
    # bound to the session are reported lost at once (nobody keeps them alive any more).
    def orphan
      end_leases(SessionClosed.new(@id, 'orphaned')) if finish(:orphaned)
      nil
    end

    # @api private: seconds left until the session's own end, by this process's clock.
    def seconds_left
      @mutex.synchronize { @deadline } - monotonic
    end

    # @api private: raises unless locks may be taken through the session.
    def check_open!
      state, reason = @mutex.synchronize { [@state, @lost_reason] }
      case state
      when :lost then raise SessionLost.new(@id, reason)
      when :closed, :orphaned then raise SessionClosed.new(@id, state.to_s)
      end
    end

    # @api private: an acquire through the session was answered session_not_found (err).
    def forgotten(err)
      mark_lost(err)
    end

    # @api private: a lease granted through the session; ends at once if the session did.
    def adopt(lease)
      state, reason = @mutex.synchronize do
        @leases << lease if @state == :open
        [@state, @lost_reason]
      end
      case state
      when :lost then lease.session_ended(SessionLost.new(@id, reason))
      when :closed, :orphaned then lease.session_ended(SessionClosed.new(@id, state.to_s))
      end
      lease
    end

    # @api private
    def forget(lease)
      @mutex.synchronize { @leases.delete(lease) }
    end

    private

    def terms(metadata, lock_delay)
      Client::Terms.new(metadata: metadata, lock_delay: lock_delay, session: self)
    end

    # Moves an open session to state and stops the keep-alive; false when it was not open.
    def finish(state)
      moved = @mutex.synchronize do
        next false unless @state == :open

        @state = state
        true
      end
      return false unless moved

      @stop.set
      @client.forget(self)
      # A renewal in flight ends by the session's own end at the latest.
      @thread.join([seconds_left, 0].max + 0.5) unless @thread == Thread.current
      true
    end

    def end_leases(reason)
      @mutex.synchronize { @leases.dup.tap { @leases.clear } }.each { |l| l.session_ended(reason) }
    end

    def mark_lost(reason)
      callbacks = @mutex.synchronize do
        next nil unless @state == :open

        @state = :lost
        @lost_reason = reason
        @lost.set
        @on_lost.dup.tap { @on_lost.clear }
      end
      return if callbacks.nil?

      @stop.set
      @client.forget(self)
      end_leases(SessionLost.new(@id, reason))
      callbacks.each { |cb| cb.call(reason) }
    end

    def remaining(renew_after_ms)
      renew_after_ms.nil? ? @ttl : [@ttl, renew_after_ms * 3 / 1000.0].min
    end

    def renew_now(timeout)
      sent = monotonic
      res = @client.renew_session(@id, timeout: timeout)
      leases = @mutex.synchronize do
        @expires_at = res.expires_at if res.expires_at && (@expires_at.nil? || res.expires_at > @expires_at)
        @renew_after_ms = res.renew_after_ms
        @deadline = [@deadline, sent + remaining(res.renew_after_ms)].max
        @leases.dup
      end
      leases.each { |l| l.session_renewed(res.expires_at, res.renew_after_ms) }
    end

    # Renews at the server's renew_after_ms, sooner after a transient failure; the session
    # is lost when the server refuses it or the local deadline passes without a renewal.
    def keep_alive
      delay = renew_delay
      until @stop.wait(delay)
        begin
          budget = seconds_left
          if Bounded.run(budget) { renew_now([budget, @client.timeout].min) } == :expired
            mark_lost(TransportError.new("session #{@id}: no renewal succeeded before it would have expired"))
            return
          end
          delay = renew_delay
        rescue *TRANSIENT => e
          left = seconds_left
          if left <= 0
            mark_lost(e)
            return
          end
          delay = [1.0, left / 3, e.respond_to?(:retry_after) && e.retry_after || 1.0].min
        rescue Error => e
          mark_lost(e)
          return
        end
      end
    end

    def renew_delay
      ms = renew_after_ms
      [(ms.nil? ? @ttl / 3.0 : ms / 1000.0), 0.01].max
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
