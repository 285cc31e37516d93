# frozen_string_literal: true

module OctoStore
  # @api private
  # One request a background renewer makes, bounded by what is left of its lease: the
  # renewer stops waiting when the lease ends, so a stalled server makes the loss fire on
  # time rather than after an HTTP timeout.
  module Bounded
    module_function

    # Runs the block on a thread of its own and waits at most budget seconds for it.
    # Returns :ok, :expired when the budget ran out first (the block's request carries the
    # same bound and ends by itself), or raises what the block raised.
    def run(budget)
      return :expired if budget <= 0

      result = Queue.new
      worker = Thread.new do
        yield
        result << [:ok]
      rescue StandardError => e
        result << [:error, e]
      end
      worker.report_on_exception = false
      return :expired unless worker.join([budget, 0.01].max)

      kind, err = result.pop
      raise err if kind == :error

      :ok
    end
  end
end
