# Prints openapi.yaml (path given as the first argument) as JSON for openapi-generator,
# without the operations marked x-browser-only (GitHub sign-in and the dashboard: pages
# and calls authenticated by a browser session cookie, not part of an API client) and
# without the session-cookie security scheme only they use. openapi-generator's ruby
# template emits broken Ruby for a cookie API key. Response `links` are dropped too: they
# generate no client code, and openapi-generator's validator refuses a link's object
# `requestBody`, which OpenAPI 3.0 allows. Nothing else is changed.
require "json"
require "yaml"

abort("usage: ruby generator-input.rb openapi.yaml > openapi.json") unless ARGV.size == 1
spec = YAML.safe_load(File.read(ARGV[0]), aliases: false)

cookie_schemes = (spec.dig("components", "securitySchemes") || {}).select { |_, s| s["in"] == "cookie" }.keys
spec["paths"].each_value do |item|
  item.reject! { |_, op| op.is_a?(Hash) && op["x-browser-only"] == true }
end
spec["paths"].reject! { |_, item| item.keys.none? { |k| %w[get put post delete patch].include?(k) } }
spec["paths"].each do |path, item|
  item.each do |method, op|
    next unless op.is_a?(Hash) && op["security"]
    if op["security"].any? { |req| (req.keys & cookie_schemes).any? }
      abort("#{method} #{path}: an API operation uses a cookie session")
    end
  end
end
cookie_schemes.each { |k| spec["components"]["securitySchemes"].delete(k) }
spec["paths"].each_value do |item|
  item.each_value do |op|
    next unless op.is_a?(Hash)
    (op["responses"] || {}).each_value { |r| r.delete("links") if r.is_a?(Hash) }
  end
end
puts JSON.pretty_generate(spec)
