# frozen_string_literal: true

# The shared conformance suite (sdk/conformance, or OCTOSTORE_CONFORMANCE_DIR): one
# Minitest test per scenario file, run through the helpers against a live octostore-lock
# from OCTOSTORE_BIN.
require 'minitest/autorun'
require_relative 'conformance/runner'

class ConformanceTest < Minitest::Test
  parallelize_me! if ENV['OCTOSTORE_CONFORMANCE_PARALLEL'] == '1'

  Conformance.scenarios.each do |scenario|
    define_method("test_#{scenario.fetch('name').tr('-', '_')}") do
      Conformance::Run.new(scenario).run
    rescue Conformance::Failure => e
      flunk e.message
    end
  end
end

Minitest.after_run { Conformance::Servers.stop_all }
