# frozen_string_literal: true

module OctoStore
  # Leader election on one lock, modelled on etcd's concurrency.Election.
  #
  # The leader holds the lock and publishes a value (its address, say) as the lock's
  # metadata; everyone else can read it (#leader) or follow it (#observe). Leadership
  # renews itself until #resign, and the returned Lease's #lost? / #on_lost tell the leader
  # it was deposed.
  #
  #   election = client.election("scheduler", ttl: 15)
  #   lease = election.campaign("10.0.0.7:8080")  # blocks until elected
  #   lease.on_lost { stop_scheduling }
  class Election
    attr_reader :name, :ttl, :lease

    def initialize(client, name, ttl: 15)
      @client = client
      @name = name
      @ttl = ttl
      @lease = nil
    end

    # Waits (at most wait seconds; nil: for ever) to become leader with value and returns
    # the leadership Lease. Raises LockTimeout when the wait ends first.
    # @return [Lease]
    def campaign(value, wait: nil)
      @lease = @client.lock(@name, ttl: @ttl, wait: wait, metadata: value)
    end

    # The current leader, or nil.
    # @return [Leader, nil]
    def leader
      Leader.from(@client.status(@name))
    end

    # Yields the current leader (or nil), then each change of leader or value, until
    # timeout seconds pass (nil: for ever) or the block breaks. Built on watch: no change
    # between two yields is missed, though several may arrive as one. Without a block,
    # returns an Enumerator.
    def observe(timeout: nil, poll_wait: 30)
      return enum_for(:observe, timeout: timeout, poll_wait: poll_wait) unless block_given?

      deadline = timeout && (monotonic + timeout)
      state = @client.status(@name)
      leader = Leader.from(state)
      last = key(leader)
      yield leader
      index = state.revision
      loop do
        remaining = deadline && (deadline - monotonic)
        return if remaining && remaining <= 0

        wait = remaining ? remaining.floor.clamp(1, poll_wait) : poll_wait
        started = monotonic
        state = @client.watch(@name, index: index, wait: wait)
        # A server without watch answers at once: poll gently instead of spinning.
        sleep(Client::DEFAULT_RETRY_SECONDS) if state.revision <= index && monotonic - started < wait * 0.9
        index = [index, state.revision].max
        leader = Leader.from(state)
        next if key(leader) == last

        last = key(leader)
        yield leader
      end
    end

    # Gives up leadership (releases the lock) if this election holds it.
    def resign
      lease = @lease
      @lease = nil
      lease&.release_quietly
      nil
    end

    private

    # What an observer compares: nil while nobody leads, so a lock-delay that ends (the
    # lock becomes free) is no change and "no leader" is not reported twice.
    def key(leader)
      leader && [leader.fencing_token, leader.value]
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
