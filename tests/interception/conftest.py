from tests.interception.kuaidi100_fake import k100, k100_zto  # noqa: F401 - fixtures of the kuaidi100 tests
