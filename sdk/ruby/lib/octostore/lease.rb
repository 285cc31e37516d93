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
  class Lease
    # Errors after which a renewal is retried until the lease's own expiry.
    TRANSIENT = [TransportError, Unavailable, RateLimited, ServerError, ProtocolError].freeze

    attr_reader :name, :ttl, :lease_id, :fencing_token, :metadata, :lost_reason

    # @api private: leases come from Client#try_lock, #lock and Election#campaign.
    def initialize(client, name, ttl, result, metadata:, sent:, auto_renew:)
      @client = client
      @name = name
      @ttl = ttl
      @metadata = metadata
      @lease_id = result.lease_id.to_s
      @fencing_token = Integer(result.fencing_token)
      @mutex = Mutex.new
      @expires_at = result.expires_at
      @renew_after_ms = result.renew_after_ms
      @deadline = sent + ttl
      @stop = Event.new
      @lost = Event.new
      @lost_reason = nil
      @on_lost = []
      @thread = auto_renew ? Thread.new { renew_loop } : nil
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

    # Stops renewing and gives the lock back. Raises LeaseNotCurrent when the lease had
    # already ended (expired, released, or lost).
    def release
      stop_renewing
      res = @client.release_lease(@name, @lease_id)
      { lease_id: res.lease_id.to_s, fencing_token: res.fencing_token }
    end

    # #release, ignoring a lease that had already ended (#lost? tells).
    def release_quietly
      release
    rescue LeaseNotCurrent
      nil
    end

    # Stops the renewer thread without releasing (the lease then runs out on its own).
    def stop_renewing
      @stop.set
      @thread.join unless @thread.nil? || @thread == Thread.current
      nil
    end

    private

    def renew_now(ttl)
      sent = monotonic
      res = @client.renew_lease(@name, @lease_id, ttl)
      @mutex.synchronize do
        @expires_at = res.expires_at if res.expires_at && (@expires_at.nil? || res.expires_at > @expires_at)
        @renew_after_ms = res.renew_after_ms
        @deadline = [@deadline, sent + ttl].max
      end
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
          renew_now(@ttl)
          delay = renew_delay
        rescue *TRANSIENT => e
          left = @mutex.synchronize { @deadline } - monotonic
          if left <= 0
            mark_lost(e)
            return
          end
          delay = [1.0, left / 2].min
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
