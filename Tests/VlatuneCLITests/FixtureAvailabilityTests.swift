import Foundation
import Testing
import VlatuneTestSupport

/// The dataset-format suites skip where their generators' libraries (pyarrow, pandas, h5py,
/// protobuf, ffmpeg) or the shared real datasets are missing. `make test` installs the libraries
/// and sets `VLATUNE_REQUIRE_FIXTURES=1`; CI also sets `VLATUNE_REQUIRE_SHARED_DATASETS=1`. Then
/// a missing piece fails here instead of silently skipping those suites.
@Suite struct FixtureAvailabilityTests {
  private var environment: [String: String] { ProcessInfo.processInfo.environment }

  @Test func generatorsAreAvailableWhereRequired() {
    if environment["VLATUNE_REQUIRE_FIXTURES"] == "1" {
      #expect(
        DatasetFixture.available,
        "VLATUNE_REQUIRE_FIXTURES=1 but the project's Python lacks pyarrow/pandas/h5py/protobuf or /usr/bin/ffmpeg is missing"
      )
    }
  }

  @Test func sharedDatasetsArePresentWhereRequired() {
    if environment["VLATUNE_REQUIRE_SHARED_DATASETS"] == "1" {
      #expect(
        DatasetFixture.sharedDatasets != nil,
        "VLATUNE_REQUIRE_SHARED_DATASETS=1 but ../shared/datasets is missing beside the repository")
    }
  }
}
