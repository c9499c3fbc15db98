"""The API's JSON parser (its own module: DRF imports parsers while its views module is still loading)."""

from rest_framework import parsers

from kernel import inputs


class JSONParser(parsers.JSONParser):
    """JSON bodies through kernel.inputs: nesting bounded, NUL and lone surrogates refused with their path."""

    def parse(self, stream, media_type=None, parser_context=None):
        return inputs.parse_json(stream.read())
