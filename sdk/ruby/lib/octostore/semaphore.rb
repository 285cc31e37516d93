# frozen_string_literal: true

module OctoStore
  # A lock that up to #n distinct holders hold at once (Consul's semaphore), each with a
  # Lease and fencing token of its own. It behaves like Client#lock otherwise: the same
  # Lease, the same try/blocking/block forms and defaults, renewed in the background.
  # Every holder of a name must use the same n (the server refuses another with
  # MaxHoldersMismatch). Made by Client#semaphore, or Session#semaphore for leases bound
  # to a session (ttl: and auto_renew: do not apply then: the session keeps them).
  #
  #   pool = client.semaphore("renderers", 3)
  #   lease = pool.try_lock(ttl: 30)   # nil when all three places are taken
  class Semaphore
    # Most holders a semaphore admits.
    MAX = 64

    attr_reader :name, :n, :session

    # @api private: use Client#semaphore or Session#semaphore.
    def initialize(client, name, n, session: nil)
      raise ArgumentError, "semaphore of #{n.inspect} holders: want 1 to #{MAX}" unless n.is_a?(Integer) && n.between?(1, MAX)

      @client = client
      @name = name
      @n = n
      @session = session
    end

    # Takes a place if one is free (one attempt): the Lease, or nil when all n are taken.
    # @return [Lease, nil]
    def try_lock(ttl: Client::DEFAULT_TTL, metadata: nil, auto_renew: true, lock_delay: nil)
      got = try_acquire(ttl: ttl, metadata: metadata, auto_renew: auto_renew, lock_delay: lock_delay)
      got.is_a?(Lease) ? got : nil
    end

    # One attempt: the Lease, or a LockHeld value naming the holder with the lowest
    # fencing token.
    # @return [Lease, LockHeld]
    def try_acquire(ttl: Client::DEFAULT_TTL, metadata: nil, auto_renew: true, lock_delay: nil)
      @client.acquire_with(@name, 0, terms(ttl, metadata, auto_renew, lock_delay))
    end

    # Waits in the lock's line for a place, at most wait seconds in all (nil: for ever),
    # and returns the Lease. Raises LockTimeout when the wait ends first.
    # @return [Lease]
    def lock(ttl: Client::DEFAULT_TTL, wait: nil, metadata: nil, auto_renew: true, lock_delay: nil)
      @client.lock_with(@name, wait, terms(ttl, metadata, auto_renew, lock_delay))
    end

    # Client#with_lock for a place of the semaphore.
    def with_lock(ttl: Client::DEFAULT_TTL, wait: nil, metadata: nil, lock_delay: nil, &block)
      @client.with_lease(@name, lock(ttl: ttl, wait: wait, metadata: metadata, lock_delay: lock_delay), &block)
    end

    private

    def terms(ttl, metadata, auto_renew, lock_delay)
      Client::Terms.new(ttl: ttl, metadata: metadata, auto_renew: auto_renew, lock_delay: lock_delay,
                        max_holders: @n, session: @session)
    end
  end
end
