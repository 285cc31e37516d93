# frozen_string_literal: true

module OctoStore
  # A one-shot flag threads can wait on with a timeout (Ruby 3.1 has no Queue#pop timeout).
  class Event
    def initialize
      @mutex = Mutex.new
      @cond = ConditionVariable.new
      @set = false
    end

    # Sets the flag and wakes every waiter. Returns true if this call set it.
    def set
      @mutex.synchronize do
        return false if @set

        @set = true
        @cond.broadcast
        true
      end
    end

    def set?
      @mutex.synchronize { @set }
    end

    # Waits until the flag is set or timeout seconds pass (nil: for ever); returns whether
    # it is set.
    def wait(timeout = nil)
      deadline = timeout && (monotonic + timeout)
      @mutex.synchronize do
        until @set
          if deadline
            left = deadline - monotonic
            break if left <= 0

            @cond.wait(@mutex, left)
          else
            @cond.wait(@mutex)
          end
        end
        @set
      end
    end

    private

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
