# frozen_string_literal: true

# The version is the API's (openapi.yaml info.version); generate.sh writes it into
# lib/octostore/generated/version.rb, the one place the gem reads it from.
require_relative 'lib/octostore/generated/version'

Gem::Specification.new do |s|
  s.name = 'octostore'
  s.version = OctoStore::VERSION
  s.summary = 'Leader election and distributed locking as a service: the OctoStore client.'
  s.description = 'Client for OctoStore: locks as leases with fencing tokens, a block helper that ' \
                  'renews in the background, and leader election. The wire client is generated ' \
                  'from the OpenAPI document with openapi-generator.'
  s.authors = ['OctoStore']
  s.license = 'MIT'
  s.homepage = 'https://github.com/octostore/octostore/tree/main/sdk/ruby'
  s.metadata = { 'source_code_uri' => 'https://github.com/octostore/octostore' }
  s.required_ruby_version = '>= 2.7'
  s.files = Dir['lib/**/*.rb'] + %w[README.md LICENSE]
  s.require_paths = ['lib']
  s.add_runtime_dependency 'typhoeus', '~> 1.0', '>= 1.0.1'
  s.add_development_dependency 'minitest', '~> 5.0'
end
